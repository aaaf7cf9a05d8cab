/**
 * The storm and loop guards off (they have tests of their own, which turn them on): the other
 * tests send the same body between the same mailboxes many times a minute.
 */
export const GUARDS_OFF: Readonly<Record<string, string>> = {
  PAIR_RATE_LIMIT_PER_MINUTE: '0',
  DUPLICATE_WINDOW: '0',
  ROUTER_MAX_VISITS: '0',
};
