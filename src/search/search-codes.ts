/** search-ids.lua: the first element of its answer, named once (the script's header cites it). */
export const SearchCode = {
  /** The mailbox has no metadata: nothing was read. */
  NoMailbox: 0,
  /** The rarest term's index has nothing older than the last id returned. */
  End: 1,
  /** Stopped at the ids wanted or at the scan budget: older ids may match. */
  More: 2,
} as const;
export type SearchCode = (typeof SearchCode)[keyof typeof SearchCode];
