import { QueueFullError } from '../protocol/index.js';
import type { QueueOptions } from './options.js';

/**
 * The bounded offline queue. rxjs's WebSocketSubject buffers without limit
 * before open and drops silently while closing, so the client owns this one:
 * bounded, with an overflow policy, and every drop counted.
 */
export class Outbox<T extends { id: string }> {
  private items: T[] = [];
  /** Messages dropped by overflow since creation. */
  dropped = 0;

  constructor(
    private readonly options: Required<QueueOptions>,
    private readonly onDrop: (item: T) => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Queues `item`, applying the overflow policy when full. Throws `QueueFullError` under `'error'`. */
  push(item: T): void {
    if (this.items.length < this.options.limit) {
      this.items.push(item);
      return;
    }
    switch (this.options.overflow) {
      case 'error':
        throw new QueueFullError(this.options.limit);
      case 'drop-newest':
        this.drop(item);
        return;
      case 'drop-oldest': {
        const oldest = this.items.shift();
        if (oldest) this.drop(oldest);
        if (this.options.limit > 0) this.items.push(item);
        else this.drop(item);
        return;
      }
    }
  }

  /** Removes a queued item by id (a request cancelled before it was sent). */
  remove(id: string): boolean {
    const index = this.items.findIndex((item) => item.id === id);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }

  /** Removes every queued item `test` accepts; returns how many. */
  removeWhere(test: (item: T) => boolean): number {
    const before = this.items.length;
    this.items = this.items.filter((item) => !test(item));
    return before - this.items.length;
  }

  /** Takes the oldest item. */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Puts items back at the front, in order (they were accepted before, so no limit applies). */
  unshift(items: readonly T[]): void {
    if (items.length > 0) this.items.unshift(...items);
  }

  /** Takes every queued item, oldest first, and empties the queue. */
  drain(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }

  private drop(item: T): void {
    this.dropped++;
    this.onDrop(item);
  }
}
