// knex's CLI finds this file before knexfile.ts; Node 20 cannot import TypeScript by
// itself, so register tsx's loader and hand over to knexfile.ts, the real config.
import { register } from 'tsx/esm/api';

register();
const { default: knexfile } = await import('./knexfile.ts');
export default knexfile;
