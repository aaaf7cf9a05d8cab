import { DeliveryStatus } from './delivery-confirmation.model';
import { isLaterState, newestReadRecords, type RecipientState } from './delivery-state';

const state = (
  status: DeliveryStatus,
  n: number,
  waiting: boolean,
  v?: number,
): RecipientState => ({ status, n, waiting, ...(v === undefined ? {} : { v }) });

const { PENDING, DELIVERED, FAILED } = DeliveryStatus;

describe(isLaterState.name, () => {
  it('orders by revision first, so that a redrive, which starts the count again, is later', () => {
    const failed = state(FAILED, 4, false, 7);
    const redriven = state(PENDING, 0, true, 8);
    expect(isLaterState(redriven, failed)).toBe(true);
    expect(isLaterState(failed, redriven)).toBe(false);
  });

  it('does not count the state that was read, told again, as later', () => {
    const attempted = state(PENDING, 1, false, 1);
    expect(isLaterState({ ...attempted }, attempted)).toBe(false);
  });

  it('drops a change that arrives after a later one', () => {
    expect(isLaterState(state(PENDING, 1, false, 1), state(DELIVERED, 1, false, 2))).toBe(false);
  });

  it('counts a state without revision (never changed) as revision 0', () => {
    expect(isLaterState(state(PENDING, 1, false, 1), state(PENDING, 0, true))).toBe(true);
    expect(isLaterState(state(PENDING, 0, true), state(PENDING, 1, false, 1))).toBe(false);
  });

  it('at one revision (an instance from before revisions), orders a run of attempts', () => {
    const run = [
      state(PENDING, 0, true),
      state(PENDING, 1, false),
      state(PENDING, 1, true),
      state(PENDING, 2, false),
      state(DELIVERED, 2, false),
    ];
    for (let i = 1; i < run.length; i += 1) {
      expect(isLaterState(run[i], run[i - 1])).toBe(true);
      expect(isLaterState(run[i - 1], run[i])).toBe(false);
    }
  });
});

describe(newestReadRecords.name, () => {
  const record = (messageId: string, mailbox: string) => ({ messageId, mailbox });

  it('keeps every record when every message was read', () => {
    const records = [record('m1', 'a'), record('b', 'a'), record('b', 'b')];
    expect(newestReadRecords(records, new Set(['m1', 'b']))).toEqual(records);
  });

  it('ends at the first record whose message was not read, though an older one was', () => {
    // A broadcast b dead-lettered by a and by b, with m2 between them unread: b's older
    // record would follow a gap.
    const records = [record('m1', 'a'), record('b', 'a'), record('m2', 'b'), record('b', 'b')];
    expect(newestReadRecords(records, new Set(['m1', 'b']))).toEqual([
      record('m1', 'a'),
      record('b', 'a'),
    ]);
  });

  it('keeps none when the newest message was not read', () => {
    expect(newestReadRecords([record('m1', 'a'), record('m2', 'a')], new Set(['m2']))).toEqual([]);
  });
});
