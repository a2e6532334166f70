import { Observable, type Subscriber } from 'rxjs';

/**
 * Routes values by key (a message type, an audio stream id) to subscribers
 * with one Map lookup per value, so the cost of a message does not grow with
 * the number of streams. Entries are removed when their last subscriber
 * leaves; `complete()` completes every subscriber and all later ones.
 */
export class Router<K, V> {
  // Made on first subscription: most routers of an idle session are never used.
  private routesMap: Map<K, Set<Subscriber<V>>> | undefined;
  private get routes(): Map<K, Set<Subscriber<V>>> {
    return (this.routesMap ??= new Map());
  }
  private completed = false;

  /** Values routed to `key`; completes at once if the router has completed. */
  observe(key: K): Observable<V> {
    return new Observable<V>((subscriber) => {
      if (this.completed) {
        subscriber.complete();
        return;
      }
      let set = this.routes.get(key);
      if (!set) this.routes.set(key, (set = new Set()));
      set.add(subscriber);
      return () => {
        set.delete(subscriber);
        if (set.size === 0 && this.routes.get(key) === set) this.routes.delete(key);
      };
    });
  }

  /** Delivers `value` to the subscribers of `type`. */
  dispatch(key: K, value: V): void {
    const set = this.routesMap?.get(key);
    if (set) for (const subscriber of set) subscriber.next(value);
  }

  /** Number of keys with at least one subscriber. */
  get size(): number {
    return this.routesMap?.size ?? 0;
  }

  /** Completes every current and future subscriber. */
  complete(): void {
    this.completed = true;
    const routes = this.routesMap;
    if (routes === undefined) return;
    for (const set of routes.values()) for (const subscriber of [...set]) subscriber.complete();
    routes.clear();
  }
}
