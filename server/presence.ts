// The live sessions a server knows of, as `server.presence` and
// `server.presence$` give them: this node's alone, or the whole cluster's
// (the cluster engine feeds it from Redis). Changes are coalesced: however
// many sessions come and go in one turn of the event loop, `presence$` emits
// one snapshot after it, and only while someone subscribes.
import { Observable } from 'rxjs';
import { Fanout } from '../src/protocol/fanout.js';
import type { PresenceEntry } from './cluster.js';

export class PresenceView {
  private readonly entries = new Map<string, PresenceEntry>();
  private cached: readonly PresenceEntry[] | null = null;
  private stream: Fanout<readonly PresenceEntry[]> | undefined = undefined;
  private scheduled = false;
  private closed = false;

  /** The current snapshot: an immutable array, rebuilt only after a change. */
  get snapshot(): readonly PresenceEntry[] {
    return (this.cached ??= Object.freeze([...this.entries.values()]));
  }

  /** The snapshot at once, then one after every turn with changes; completes at {@link close}. */
  readonly changes$: Observable<readonly PresenceEntry[]> = new Observable((subscriber) => {
    const stream = (this.stream ??= Fanout.current(this.snapshot));
    // Changes made while nobody watched were not pushed: bring the value up to date.
    if (!this.closed && stream.current !== this.snapshot) stream.next(this.snapshot);
    if (this.closed) {
      subscriber.next(this.snapshot);
      subscriber.complete();
      return undefined;
    }
    return stream.subscribe(subscriber);
  });

  get size(): number {
    return this.entries.size;
  }

  /** Adds or replaces an entry (a no-op when nothing changed). */
  set(entry: PresenceEntry): void {
    const old = this.entries.get(entry.sessionId);
    if (
      old !== undefined &&
      old.nodeId === entry.nodeId &&
      old.connected === entry.connected &&
      old.userKey === entry.userKey
    ) {
      return;
    }
    this.entries.set(entry.sessionId, Object.freeze({ ...entry }));
    this.changed();
  }

  delete(sessionId: string): void {
    if (this.entries.delete(sessionId)) this.changed();
  }

  /** Removes every entry `drop` selects (a dead node's sessions). */
  deleteWhere(drop: (entry: PresenceEntry) => boolean): void {
    let any = false;
    for (const [id, entry] of this.entries) {
      if (drop(entry)) {
        this.entries.delete(id);
        any = true;
      }
    }
    if (any) this.changed();
  }

  /** Completes `presence$` (the server closed). */
  close(): void {
    this.closed = true;
    this.stream?.end();
  }

  private changed(): void {
    this.cached = null;
    if (this.scheduled || this.stream === undefined || !this.stream.observed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.stream?.next(this.snapshot);
    });
  }
}
