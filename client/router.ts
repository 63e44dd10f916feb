/**
 * The router type the client is typed by. In this repository it is the server's own
 * AppRouter; the published package (`npm run client:build`) replaces this file with a
 * generated declaration of the same procedures that needs none of the server's code.
 */
export type { AppRouter } from '../server/router.ts';
