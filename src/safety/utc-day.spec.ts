import { utcDay } from './safety.repository';

describe('utcDay', () => {
  const iso = (time: number): string => new Date(time).toISOString().slice(0, 10);

  it('names the UTC day of a time, at both edges of a day', () => {
    const midnight = Date.UTC(2026, 11, 4);
    expect(utcDay(midnight)).toBe('2026-12-04');
    expect(utcDay(midnight - 1)).toBe('2026-12-03');
    expect(utcDay(midnight + 86_399_999)).toBe('2026-12-04');
    expect(utcDay(midnight + 86_400_000)).toBe('2026-12-05');
  });

  it('answers alike whatever day it named before', () => {
    const times = [
      0,
      -1,
      Date.UTC(1969, 11, 31, 12),
      Date.UTC(2026, 1, 28, 23, 59, 59, 999),
      Date.UTC(2028, 1, 29, 0, 0, 0, 1),
      Date.UTC(2026, 11, 4, 17),
      Date.UTC(2026, 11, 4, 1),
      Date.UTC(2026, 11, 3, 23),
    ];
    for (const time of [...times, ...times.reverse()]) expect(utcDay(time)).toBe(iso(time));
  });
});
