import { Observable, type Subscriber } from 'rxjs';

/**
 * The subscribers of one stream, stored as cheaply as possible: none, one
 * subscriber (the common case: no array, no finalizer), or a copy-on-write
 * array of two or more.
 *
 * Memory is the point. Returning a teardown from a subscribe function makes
 * rxjs allocate a finalizer array on the subscriber (about 190 bytes, as
 * `[].push` reserves 17 slots) plus the teardown closure; a lone subscriber
 * gets neither. Instead it is left in its slot when it unsubscribes and is
 * dropped lazily: the next delivery, a new subscriber or the end of the
 * stream replaces or skips it (one leftover per stream at most). rxjs clears
 * an unsubscribed subscriber's destination, so a leftover no longer reaches
 * the observer downstream of it. From the second subscriber on, each one gets
 * a finalizer that removes it at once.
 *
 * Delivery iterates a snapshot: a subscriber added while a value is being
 * delivered gets the next value, not this one; one unsubscribed meanwhile
 * (say by an earlier subscriber) gets nothing more.
 */
export type Listeners<V> = Subscriber<V> | readonly Subscriber<V>[] | undefined;

/**
 * Adds `subscriber` to `listeners` and returns the new value to store.
 * `leave` is called with a subscriber that leaves while it shares the stream
 * with others (see {@link Listeners}); it should store
 * `withoutListener(current, subscriber)`.
 */
export function withListener<V>(
  listeners: Listeners<V>,
  subscriber: Subscriber<V>,
  leave: (subscriber: Subscriber<V>) => void,
): Listeners<V> {
  if (listeners === undefined) return subscriber;
  if (!Array.isArray(listeners)) {
    const single = listeners as Subscriber<V>;
    if (single.closed) return subscriber;
    single.add(() => leave(single));
    subscriber.add(() => leave(subscriber));
    return [single, subscriber];
  }
  const open = (listeners as readonly Subscriber<V>[]).filter((s) => !s.closed);
  if (open.length === 0) return subscriber;
  subscriber.add(() => leave(subscriber));
  open.push(subscriber);
  return open;
}

/** `listeners` without `subscriber` (a new array when it was in one). */
export function withoutListener<V>(
  listeners: Listeners<V>,
  subscriber: Subscriber<V>,
): Listeners<V> {
  if (listeners === undefined || listeners === subscriber) return undefined;
  if (!Array.isArray(listeners)) return listeners;
  const list = listeners as readonly Subscriber<V>[];
  if (!list.includes(subscriber)) return list;
  const rest = list.filter((s) => s !== subscriber);
  return rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest;
}

/** True when `listeners` has a subscriber that has not unsubscribed. */
export function hasListener<V>(listeners: Listeners<V>): boolean {
  if (listeners === undefined) return false;
  if (!Array.isArray(listeners)) return !(listeners as Subscriber<V>).closed;
  return (listeners as readonly Subscriber<V>[]).some((s) => !s.closed);
}

/**
 * Delivers `value` to every subscriber in `listeners` (closed ones ignore it).
 * Returns false when `listeners` is a lone subscriber that has left: the
 * caller drops it then (see {@link Listeners}).
 */
export function nextAll<V>(listeners: Listeners<V>, value: V): boolean {
  if (listeners === undefined) return true;
  if (Array.isArray(listeners)) {
    for (const s of listeners as readonly Subscriber<V>[]) s.next(value);
    return true;
  }
  const lone = listeners as Subscriber<V>;
  if (lone.closed) return false;
  lone.next(value);
  return true;
}

/** Completes every subscriber in `listeners`, optionally after a last value. */
export function completeAll<V>(listeners: Listeners<V>, last?: { value: V }): void {
  if (listeners === undefined) return;
  const list: readonly Subscriber<V>[] = Array.isArray(listeners)
    ? (listeners as readonly Subscriber<V>[])
    : [listeners as Subscriber<V>];
  for (const s of list) {
    if (last !== undefined) s.next(last.value);
    s.complete();
  }
}

/** On subscribe, emit the current value first (a BehaviorSubject's way). */
const CURRENT = 1;
/** After `end(value)`, a late subscriber gets the final value, then completes (an AsyncSubject's way). */
const REPLAY_END = 2;
/** Ended: subscribers complete at once. */
const ENDED = 4;

/**
 * A hot stream whose only state is its subscribers ({@link Listeners}) and
 * a value: the cheapest multicast there is for a per-connection stream that
 * usually has one subscriber or none. It is its own Observable (no Subject,
 * no `asObservable()` wrapper), allocates nothing until someone subscribes,
 * and its subscribers cost rxjs's own subscriber objects and nothing more.
 *
 * - `new Fanout()`: hot; `next` delivers to current subscribers; after
 *   `end()` new subscribers complete at once.
 * - `Fanout.current(value)`: like a BehaviorSubject, each subscriber first
 *   gets the current value (also after the end: then it completes).
 * - `end(value)` on any fanout: delivers `value` and completes; a later
 *   subscriber gets `value` too, then completes (like an AsyncSubject).
 *
 * `next` and `end` are for the owner only: hand out the fanout typed as an
 * `Observable`.
 */
export class Fanout<V> extends Observable<V> {
  private listeners: Listeners<V> = undefined;
  private flags: number;
  private value: V | undefined;

  constructor() {
    super(subscribeToFanout as (this: Observable<V>, subscriber: Subscriber<V>) => void);
    this.flags = 0;
    this.value = undefined;
  }

  /** A fanout that gives every subscriber `value` (then each later one) first. */
  static current<V>(value: V): Fanout<V> {
    const fanout = new Fanout<V>();
    fanout.flags = CURRENT;
    fanout.value = value;
    return fanout;
  }

  /** True while some subscriber has not unsubscribed. */
  get observed(): boolean {
    return hasListener(this.listeners);
  }

  /** True once {@link end} was called. */
  get ended(): boolean {
    return (this.flags & ENDED) !== 0;
  }

  /** The value a `current` fanout holds. */
  get current(): V | undefined {
    return this.value;
  }

  /** Delivers `value` to the current subscribers (and keeps it, for a `current` fanout). */
  next(value: V): void {
    if ((this.flags & ENDED) !== 0) return;
    if ((this.flags & CURRENT) !== 0) this.value = value;
    if (!nextAll(this.listeners, value)) this.listeners = undefined;
  }

  /**
   * Completes every subscriber, after `final.value` when given (then kept
   * for later subscribers, who get it and complete). Idempotent.
   */
  end(final?: { value: V }): void {
    if ((this.flags & ENDED) !== 0) return;
    this.flags |= ENDED;
    if (final !== undefined) {
      this.flags |= REPLAY_END;
      this.value = final.value;
    }
    const listeners = this.listeners;
    this.listeners = undefined;
    completeAll(listeners, final);
  }

  /** @internal Called by rxjs (through `subscribeToFanout`) for each subscriber. */
  attach(subscriber: Subscriber<V>): void {
    const flags = this.flags;
    if ((flags & CURRENT) !== 0 || (flags & (ENDED | REPLAY_END)) === (ENDED | REPLAY_END)) {
      subscriber.next(this.value as V);
    }
    if ((flags & ENDED) !== 0) {
      subscriber.complete();
      return;
    }
    if (subscriber.closed) return; // it unsubscribed on the current value
    this.listeners = withListener(this.listeners, subscriber, (s) => {
      this.listeners = withoutListener(this.listeners, s);
    });
  }
}

// One function for every fanout: rxjs calls it with `this` set to the
// Observable, so no per-instance closure is needed. Returns no teardown on purpose.
function subscribeToFanout<V>(this: Fanout<V>, subscriber: Subscriber<V>): void {
  this.attach(subscriber);
}
