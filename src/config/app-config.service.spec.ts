import { positiveMs } from './app-config.service';

describe(positiveMs.name, () => {
  it('keeps 0 as no limit, and never rounds a limit down to it', () => {
    expect(positiveMs(0)).toBe(0);
    expect(positiveMs(0.0001)).toBe(1);
    expect(positiveMs(0.0015)).toBe(2);
    expect(positiveMs(30 * 86_400)).toBe(30 * 86_400_000);
  });
});
