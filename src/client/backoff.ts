import type { ReconnectOptions } from './options.js';

/**
 * The wait before retry number `failures` (1 for the first retry): the capped
 * exponential delay `min(maxDelay, initialDelay·factor^(failures-1))`, then jitter
 * removes up to `jitter` of it at random. The cap comes first, so clients waiting
 * at the cap still spread out instead of retrying in lockstep.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialDelay: 1000, factor: 2, maxDelay: 30000, jitter: 0 }); // 4000
 * ```
 */
export function backoffDelay(
  failures: number,
  options: Required<Pick<ReconnectOptions, 'initialDelay' | 'maxDelay' | 'factor' | 'jitter'>> &
    Pick<ReconnectOptions, 'random'>,
): number {
  const capped = Math.min(
    options.maxDelay,
    options.initialDelay * Math.pow(options.factor, Math.max(0, failures - 1)),
  );
  if (options.jitter === 0) return capped;
  const random = options.random ?? Math.random;
  return Math.round(capped * (1 - options.jitter * random()));
}
