import { IsoClock } from '../../src/protocol/index';

describe('IsoClock', () => {
  it('formats exactly like Date#toISOString, across milliseconds, seconds and days', () => {
    const clock = new IsoClock();
    const start = Date.UTC(2026, 10, 22, 23, 59, 58, 990);
    for (let ms = start; ms < start + 2_100; ms += 7) {
      expect(clock.format(ms)).toBe(new Date(ms).toISOString());
    }
    // Going back in time too (a virtual clock may be reset).
    for (const ms of [0, 5, 999, 1000, 86_399_999, start - 1]) {
      expect(clock.format(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
