import { AppError } from '../common/app-error';
import {
  arrivalKey,
  formatArrivalCursor,
  fromArrivalKey,
  isAfter,
  parseArrivalCursor,
  type ArrivalCursor,
} from './arrival-cursor';

const ID = '01M8CWAEB5XYBAJRTNGCVKXCN2';
const LATER_ID = '01M8CWBRWD29GRETNFQFJV7TDA';

describe(parseArrivalCursor.name, () => {
  it('reads what formatArrivalCursor writes, and "0" as the start', () => {
    for (const cursor of [
      { stamp: 0, id: null },
      { stamp: 1_796_678_615_787_699, id: null },
      { stamp: 1_796_678_615_787_699, id: ID },
      { stamp: 2 ** 53 - 1, id: ID },
    ]) {
      expect(parseArrivalCursor(formatArrivalCursor(cursor), 'after')).toEqual(cursor);
    }
    expect(parseArrivalCursor('0', 'after')).toEqual({ stamp: 0, id: null });
  });

  it('takes an id in lower case as the id it names', () => {
    expect(parseArrivalCursor(`5-${ID.toLowerCase()}`, 'after')).toEqual({ stamp: 5, id: ID });
  });

  it('leaves what is no cursor to the caller: a message id, text, a sign, 17 digits', () => {
    for (const value of [ID, 'x', '', '-1', '+5', '1.5', '12345678901234567', `1-${ID}x`]) {
      expect(parseArrivalCursor(value, 'after')).toBeNull();
    }
  });

  it('refuses a stamp past 2^53 and an id that is no message id, naming the field', () => {
    for (const value of [String(2 ** 53 + 1), `1-${'U'.repeat(26)}`]) {
      let refusal: unknown;
      try {
        parseArrivalCursor(value, 'after');
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(AppError);
      expect((refusal as AppError).code).toBe('BAD_USER_INPUT');
      expect((refusal as AppError).details.field).toBe('after');
    }
  });
});

describe(arrivalKey.name, () => {
  it('sorts as the places do: by stamp, then id, a cursor with no id after every id of its stamp', () => {
    const places: ArrivalCursor[] = [
      { stamp: 9, id: ID },
      { stamp: 9, id: LATER_ID },
      { stamp: 9, id: null },
      { stamp: 10, id: ID },
      { stamp: 1_796_678_615_787_699, id: ID },
      { stamp: 2 ** 53 - 1, id: null },
    ];
    const keys = places.map(arrivalKey);
    expect([...keys].sort()).toEqual(keys);
    expect(keys.map(fromArrivalKey)).toEqual(places);
  });
});

describe(isAfter.name, () => {
  it('is true past the cursor only', () => {
    const cursor = { stamp: 100, id: ID };
    expect(isAfter(cursor, 101, ID)).toBe(true);
    expect(isAfter(cursor, 100, LATER_ID)).toBe(true);
    expect(isAfter(cursor, 100, ID)).toBe(false);
    expect(isAfter(cursor, 99, LATER_ID)).toBe(false);
    // No id: every message of that stamp is behind it.
    expect(isAfter({ stamp: 100, id: null }, 100, LATER_ID)).toBe(false);
    expect(isAfter({ stamp: 0, id: null }, 1, ID)).toBe(true);
  });
});
