/** The type the typed client is built from (client/index.ts): every module's router under its name. */
export type { AppRouter } from './app.ts';
