import type { SchedulerLike, Subscriber } from 'rxjs';
import type { AudioChunk } from './types.js';

/** One chunk of a generated stream and when its last sample ends, in ms after the start. */
export interface Paced {
  chunk: AudioChunk;
  endMs: number;
}

/**
 * @internal Drives a source that generates chunks on demand. With `realtime`,
 * chunk k is emitted on `scheduler` when its last sample would have been
 * captured (`start + endMs`), like a microphone; delays are computed from the
 * start rather than chained, so timer lateness does not accumulate. Without,
 * chunks are emitted synchronously until the generator returns null or the
 * subscriber unsubscribes. `start` is `scheduler.now()` at subscription.
 */
export function pace(
  subscriber: Subscriber<AudioChunk>,
  scheduler: SchedulerLike,
  realtime: boolean,
  generate: (k: number, start: number) => Paced | null,
): void {
  const start = scheduler.now();
  if (!realtime) {
    for (let k = 0; !subscriber.closed; k++) {
      const next = generate(k, start);
      if (!next) {
        subscriber.complete();
        return;
      }
      subscriber.next(next.chunk);
    }
    return;
  }
  const first = generate(0, start);
  if (!first) {
    subscriber.complete();
    return;
  }
  let k = 0;
  let current: Paced = first;
  const delayFor = (p: Paced) => Math.max(0, start + p.endMs - scheduler.now());
  subscriber.add(
    scheduler.schedule(function () {
      subscriber.next(current.chunk);
      const next = generate(++k, start);
      if (!next) {
        subscriber.complete();
        return;
      }
      current = next;
      if (!subscriber.closed) this.schedule(undefined, delayFor(next));
    }, delayFor(first)),
  );
}
