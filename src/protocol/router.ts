import { Observable, type Subscriber } from 'rxjs';
import {
  completeAll,
  hasListener,
  nextAll,
  withListener,
  withoutListener,
  type Listeners,
} from './fanout.js';

/**
 * Routes values by key (a message type, an audio stream id) to subscribers
 * with one lookup per value, so the cost of a message does not grow with the
 * number of streams. `complete()` completes every subscriber and all later ones.
 *
 * Sized for the common case of one key with one subscriber (a session's
 * `on('chat')`): that route lives in two fields, with no Map, no Set and no
 * finalizer on the subscriber; further keys go to a Map made when first
 * needed. Subscribers are stored as {@link Listeners}: a lone subscriber that
 * unsubscribes is dropped lazily (on the next value for its key, the next
 * subscription, or `complete()`), later ones at once. A subscriber added
 * while a value is being dispatched gets the next value, not that one.
 */
export class Router<K, V> {
  /** The first route's key and subscribers: most routers never hold another. */
  private firstKey: K | undefined = undefined;
  private first: Listeners<V> = undefined;
  /** Every other route, made on first use. */
  private more: Map<K, Listeners<V>> | undefined = undefined;
  private completed = false;

  /** Values routed to `key`; completes at once if the router has completed. */
  observe(key: K): Observable<V> {
    return new Observable<V>((subscriber) => this.add(key, subscriber));
  }

  /** Delivers `value` to the subscribers of `key`. */
  dispatch(key: K, value: V): void {
    if (this.first !== undefined && key === this.firstKey) {
      if (!nextAll(this.first, value)) this.first = undefined; // its lone subscriber left
      return;
    }
    const listeners = this.more?.get(key);
    if (listeners !== undefined && !nextAll(listeners, value)) this.more!.delete(key);
  }

  /** Number of keys with at least one subscriber. */
  get size(): number {
    let size = hasListener(this.first) ? 1 : 0;
    if (this.more !== undefined) {
      for (const listeners of this.more.values()) if (hasListener(listeners)) size += 1;
    }
    return size;
  }

  /** Completes every current and future subscriber. */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    const first = this.first;
    const more = this.more;
    this.first = this.more = this.firstKey = undefined;
    completeAll(first);
    if (more !== undefined) for (const listeners of more.values()) completeAll(listeners);
  }

  private add(key: K, subscriber: Subscriber<V>): void {
    if (this.completed) {
      subscriber.complete();
      return;
    }
    const leave = (s: Subscriber<V>): void => this.leave(key, s);
    if (this.first !== undefined && key === this.firstKey) {
      this.first = withListener(this.first, subscriber, leave);
      return;
    }
    const more = this.more;
    const current = more?.get(key);
    if (current === undefined && !hasListener(this.first)) {
      // The first slot is free (never used, or its lone subscriber left): take it.
      this.firstKey = key;
      this.first = subscriber;
      return;
    }
    const map = (this.more ??= new Map());
    map.set(key, withListener(current, subscriber, leave));
    // Now and then (a new key made the map a power of two long) drop dead routes.
    if (current === undefined && map.size >= 16 && (map.size & (map.size - 1)) === 0) sweep(map);
  }

  private leave(key: K, subscriber: Subscriber<V>): void {
    if (this.first !== undefined && key === this.firstKey) {
      this.first = withoutListener(this.first, subscriber);
      return;
    }
    const more = this.more;
    const current = more?.get(key);
    if (current === undefined) return;
    const rest = withoutListener(current, subscriber);
    if (rest === undefined) more!.delete(key);
    else more!.set(key, rest);
  }
}

/** Drops the routes whose lone subscriber left, so a router never accumulates dead keys. */
function sweep<K, V>(more: Map<K, Listeners<V>>): void {
  for (const [key, listeners] of more) if (!hasListener(listeners)) more.delete(key);
}
