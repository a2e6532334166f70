import { Observable, type Subscriber } from 'rxjs';

/**
 * Routes values by type to subscribers with one Map lookup per message, so
 * the cost of a message does not grow with the number of `on()` streams.
 * Entries are removed when their last subscriber leaves.
 */
export class Router<V> {
  private readonly routes = new Map<string, Set<Subscriber<V>>>();
  private completed = false;

  observe(type: string): Observable<V> {
    return new Observable<V>((subscriber) => {
      if (this.completed) {
        subscriber.complete();
        return;
      }
      let set = this.routes.get(type);
      if (!set) this.routes.set(type, (set = new Set()));
      set.add(subscriber);
      return () => {
        set.delete(subscriber);
        if (set.size === 0 && this.routes.get(type) === set) this.routes.delete(type);
      };
    });
  }

  /** Delivers `value` to the subscribers of `type`. */
  dispatch(type: string, value: V): void {
    const set = this.routes.get(type);
    if (set) for (const subscriber of set) subscriber.next(value);
  }

  /** Number of types with at least one subscriber (for leak checks). */
  get size(): number {
    return this.routes.size;
  }

  complete(): void {
    this.completed = true;
    for (const set of this.routes.values())
      for (const subscriber of [...set]) subscriber.complete();
    this.routes.clear();
  }
}
