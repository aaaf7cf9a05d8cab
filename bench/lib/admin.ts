/**
 * The admin token the bench gives the service (ADMIN_TOKEN) and every bench client sends:
 * `Authorization: Bearer` over HTTP, `connectionParams.authorization` over graphql-ws. The
 * bare baselines ignore it.
 */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export const ADMIN_HEADER: Readonly<Record<string, string>> = {
  authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
};
