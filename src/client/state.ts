import { BehaviorSubject, type Observable } from 'rxjs';
import type { CloseInfo, RxwireError } from '../protocol/index.js';

/** Where the connection is in its life. `'error'` means it gave up or hit a fatal close; `reconnect()` leaves it. */
export type ConnectionStatus =
  'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnecting' | 'disconnected' | 'error';

/** A snapshot of the connection, as `client.state` and `client.state$` give it. */
export interface ConnectionState {
  status: ConnectionStatus;
  /**
   * The retry in progress or next: 0 for the first attempt and while
   * connected, then 1, 2, ... up to `maxAttempts` after a failure or a drop.
   * Show it as "retry 2 of 5".
   */
  attempt: number;
  /** `reconnect.maxAttempts`: retries before giving up (0 when reconnecting is off). */
  maxAttempts: number;
  /** While waiting to retry: the wait chosen, in ms. */
  retryInMs?: number;
  /** While waiting to retry: when the next attempt starts, in the scheduler's clock (ms since epoch in real time). */
  retryAt?: number;
  /** Latest round-trip time, in ms: first from `$hello`/`$welcome`, then from each `$ping`/`$pong`. */
  latencyMs?: number;
  /**
   * Id the server gave this session in `$welcome`. It stays the same across
   * reconnects that resume the session; a new id means a new session.
   */
  sessionId?: string;
  /**
   * Whether the latest connection resumed the previous session (nothing was
   * lost). `false` after a reconnect means the server started a new session
   * (the recovery window passed, or it restarted): resync app state.
   */
  resumed?: boolean;
  /**
   * What carries the connection (or the next attempt): `'websocket'`, or
   * `'http'` on the fallback transport (option `transports`).
   */
  transport: 'websocket' | 'http';
  /** The last close of the socket. */
  lastClose?: CloseInfo;
  /** Why the client is retrying, gave up or stopped; cleared on `connected`. */
  error?: RxwireError;
  /** Messages waiting in the offline queue. */
  queued: number;
  /** Messages dropped by queue overflow since the client was created. */
  dropped: number;
  /** Messages sent but not yet acknowledged by the server (kept to resend on resume). Read live by `client.state`. */
  unacked: number;
  /** Messages sent again after a resume, since the client was created. */
  resent: number;
  /** Server messages dropped because they had already been delivered, since the client was created. */
  duplicates: number;
}

/** Holds the state; emits only real changes, so `state$` is distinct by construction. */
export class StateStore {
  private readonly subject: BehaviorSubject<ConnectionState>;
  readonly state$: Observable<ConnectionState>;

  constructor(initial: ConnectionState) {
    this.subject = new BehaviorSubject(initial);
    this.state$ = this.subject.asObservable();
  }

  get value(): ConnectionState {
    return this.subject.value;
  }

  /** Applies a change; keys set to `undefined` in `patch` are removed. */
  update(patch: { [K in keyof ConnectionState]?: ConnectionState[K] | undefined }): void {
    const next = { ...this.subject.value } as Record<string, unknown>;
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    if (!shallowEqual(this.subject.value, next))
      this.subject.next(next as unknown as ConnectionState);
  }

  complete(): void {
    this.subject.complete();
  }
}

function shallowEqual(a: object, b: object): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}
