import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import {
  Control,
  ErrorCode,
  QueueFullError,
  RemoteError,
  RequestTimeoutError,
  RxwireError,
  type Envelope,
} from '../protocol/index.js';

interface Pending {
  type: string;
  subscriber: Subscriber<unknown>;
  /** True once the request frame left on a socket; false while it waits in the queue. */
  sent: boolean;
  timeoutMs: number;
  timer?: Subscription;
  /** Scheduler time of the request or of its last response frame (the idle timeout counts from it). */
  activeAt: number;
}

/** How the registry reaches the connection. */
export interface RequestTransport {
  /** Sends now or queues; returns true when sent on an open socket. Throws QueueFullError. */
  submit(envelope: Envelope): boolean;
  /** Sends `$cancel` for a request that left on the current socket. */
  cancel(id: string): void;
  /** Removes a request that is still queued. */
  unqueue(id: string): void;
}

/**
 * In-flight request streams, by request id. A request is a cold Observable:
 * subscribing sends it, `$next` frames are its values, `$complete`/`$error` end
 * it, and unsubscribing early sends `$cancel` (or takes it out of the queue).
 */
export class RequestRegistry {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly transport: RequestTransport,
    private readonly scheduler: SchedulerLike,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  open<R>(envelope: Envelope, timeoutMs: number): Observable<R> {
    return new Observable<R>((subscriber) => {
      const id = envelope.id;
      const entry: Pending = {
        type: envelope.type,
        subscriber: subscriber as Subscriber<unknown>,
        sent: false,
        timeoutMs,
        activeAt: 0,
      };
      this.pending.set(id, entry);
      this.arm(id, entry);
      try {
        entry.sent = this.transport.submit(envelope);
      } catch (error) {
        this.pending.delete(id);
        subscriber.error(error);
        return;
      }
      return () => {
        entry.timer?.unsubscribe();
        // Still registered means it ended from our side: tell the server, or unqueue.
        if (this.pending.get(id) === entry) {
          this.pending.delete(id);
          if (entry.sent) this.transport.cancel(id);
          else this.transport.unqueue(id);
        }
      };
    });
  }

  /** A queued request just left on a socket. */
  markSent(id: string): void {
    const entry = this.pending.get(id);
    if (entry) entry.sent = true;
  }

  /** Routes `$next` / `$complete` / `$error`; returns false when `replyTo` is not a request of ours. */
  handle(envelope: Envelope): boolean {
    const id = envelope.replyTo;
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (!entry || id === undefined) return false;
    switch (envelope.type) {
      case Control.Next:
        // The idle timer checks this when it fires: no timer per frame.
        if (entry.timer !== undefined) entry.activeAt = this.scheduler.now();
        entry.subscriber.next(envelope.payload);
        return true;
      case Control.Complete:
        this.settle(id, entry);
        entry.subscriber.complete();
        return true;
      case Control.Error:
        this.settle(id, entry);
        entry.subscriber.error(RemoteError.fromEnvelope(envelope));
        return true;
      default:
        return false;
    }
  }

  /**
   * The session that carried the sent requests is gone (the client stopped, or
   * the server started a new session): they cannot complete. Queued ones wait
   * for the next connection.
   */
  failSent(cause: unknown, code: ErrorCode = ErrorCode.ConnectionLost): void {
    for (const [id, entry] of this.pending) {
      if (!entry.sent) continue;
      this.settle(id, entry);
      entry.subscriber.error(
        new RxwireError(
          code,
          code === ErrorCode.SessionLost
            ? `the server did not resume the session while request '${entry.type}' was in flight`
            : `connection lost while request '${entry.type}' was in flight`,
          { cause },
        ),
      );
    }
  }

  /** A queued request was pushed out of the full queue: it will never be sent. */
  failDropped(id: string, limit: number): void {
    const entry = this.pending.get(id);
    if (!entry || entry.sent) return;
    this.settle(id, entry);
    entry.subscriber.error(new QueueFullError(limit));
  }

  /** Ends every request with `error` (the client is disposed). */
  failAll(error: unknown): void {
    for (const [id, entry] of this.pending) {
      this.settle(id, entry);
      entry.subscriber.error(error);
    }
  }

  private settle(id: string, entry: Pending): void {
    this.pending.delete(id);
    entry.timer?.unsubscribe();
  }

  /**
   * Starts the idle timeout: it fires `timeoutMs` after the request, and
   * again for the rest of the time if a response frame came since, so a long
   * stream costs one timer per `timeoutMs`, not one per frame.
   */
  private arm(id: string, entry: Pending): void {
    const { timeoutMs } = entry;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return;
    const check = (): void => {
      if (this.pending.get(id) !== entry) return;
      const idle = this.scheduler.now() - entry.activeAt;
      if (idle < timeoutMs) {
        entry.timer = this.scheduler.schedule(check, timeoutMs - idle);
        return;
      }
      entry.subscriber.error(new RequestTimeoutError(entry.type, timeoutMs));
    };
    entry.activeAt = this.scheduler.now();
    entry.timer = this.scheduler.schedule(check, timeoutMs);
  }
}
