import { backoffDelay } from '../../src/index';

/** A seeded generator (mulberry32), so the property test is reproducible. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoffDelay', () => {
  const base = { initialDelay: 1000, maxDelay: 30_000, factor: 2 };

  it('is exactly 1, 2, 4, 8, 16, 30, 30 s with jitter 0', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, { ...base, jitter: 0 }));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it.each([0.1, 0.5, 1])(
    'over 10,000 draws per attempt, every delay lies in [(1-jitter)d, d] (jitter %p)',
    (jitter) => {
      const random = seeded(42);
      for (let n = 1; n <= 8; n++) {
        const d = Math.min(base.maxDelay, base.initialDelay * 2 ** (n - 1));
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < 10_000; i++) {
          const wait = backoffDelay(n, { ...base, jitter, random });
          min = Math.min(min, wait);
          max = Math.max(max, wait);
        }
        expect(min).toBeGreaterThanOrEqual(Math.floor((1 - jitter) * d));
        expect(max).toBeLessThanOrEqual(d);
        // the spread covers most of the range, at the cap too
        expect(max - min).toBeGreaterThan(0.9 * jitter * d);
      }
    },
  );

  it('spreads clients at the cap (jitter applied after the cap)', () => {
    const random = seeded(7);
    const atCap = Array.from({ length: 1000 }, () =>
      backoffDelay(20, { ...base, jitter: 0.5, random }),
    );
    expect(new Set(atCap).size).toBeGreaterThan(900);
    expect(Math.min(...atCap)).toBeGreaterThanOrEqual(15_000);
    expect(Math.max(...atCap)).toBeLessThanOrEqual(30_000);
  });

  it('calls random once per delay, so each client draws its own jitter', () => {
    const random = jest.fn(() => 0.5);
    expect(backoffDelay(1, { ...base, jitter: 0.5, random })).toBe(750);
    expect(backoffDelay(2, { ...base, jitter: 0.5, random })).toBe(1500);
    expect(random).toHaveBeenCalledTimes(2);
  });
});
