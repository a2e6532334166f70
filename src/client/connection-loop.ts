import { defer, merge, retry, take, timer, type Observable, type Subscription } from 'rxjs';
import {
  ConnectionClosedError,
  ErrorCode,
  RxwireError,
  clampReason,
  type CloseInfo,
} from '../protocol/index.js';
import type { Link } from './attempt.js';
import type { ResolvedOptions } from './options.js';
import { Reconnection } from './reconnection.js';
import type { WebSocketLike } from './socket.js';
import type { ConnectionStatus, StateStore } from './state.js';
import type { TransportName, TransportSwitch } from './transport-switch.js';

/** How long `disconnect()` waits for the server to answer the close frame. */
const DISCONNECT_TIMEOUT_MS = 5000;

/** What the loop needs from the client around it. */
export interface LoopHost {
  readonly options: ResolvedOptions;
  readonly store: StateStore;
  readonly transport: TransportSwitch;
  /** One connection attempt (see `connectAttempt`), with the client's handlers. */
  attempt(): Observable<never>;
  /** The link of the current connection, once `$welcome` arrived. */
  link(): Link | undefined;
  /** The socket is gone (sent requests may fail, lone acks stop). */
  dropLink(cause: unknown): void;
  /**
   * The loop stopped for good: everything waiting on the connection fails
   * with `error`; with `endSession` the next connection starts a new session.
   */
  stopped(error: RxwireError, endSession: boolean): void;
  /** Messages waiting in the offline queue. */
  queued(): number;
}

/** Ends the retry loop; carries the status the client settles in. */
class Stop {
  constructor(
    readonly status: Extract<ConnectionStatus, 'disconnected' | 'error'>,
    readonly error: RxwireError | undefined,
    readonly close: CloseInfo | undefined,
  ) {}
}

/**
 * The connection's life: `defer(() => attempt)` with `retry({delay})`, one
 * fresh socket per attempt; the close policy and backoff (`Reconnection`)
 * decide what follows each failure, and `connect()`, `disconnect()` and
 * `reconnect()` start, stop and restart it. The client handles what happens
 * on a connection (welcome, frames, acks); the loop handles its coming and going.
 */
export class ConnectionLoop {
  private readonly reconnection: Reconnection;
  private runner: Subscription | undefined;
  /** A `disconnect()` waiting for the close handshake, and the close it asked for. */
  private closing: { timer: Subscription; close: CloseInfo } | undefined;
  /** No attempt of this run has failed or connected yet (status `connecting`). */
  private fresh = true;
  /** Whether the current attempt reached `$welcome`. */
  private welcomed = false;
  /** A transport switch is dropping the link: the next attempt starts at once. */
  private switching = false;
  /** The attempt after a switch, reported as `reconnecting`. */
  private switched = false;

  constructor(private readonly host: LoopHost) {
    this.reconnection = new Reconnection(host.options);
  }

  /** True while the loop runs (connecting, connected, waiting to retry, disconnecting). */
  get running(): boolean {
    return this.runner !== undefined && !this.runner.closed;
  }

  connect(): void {
    if (this.closing !== undefined) {
      // A disconnect() still waiting for its close handshake ends here; then start over.
      this.halt(this.closing.close);
    } else if (this.running) {
      return;
    }
    this.start();
  }

  disconnect(code: number, reason: string): void {
    if (!this.running || this.closing) return;
    const link = this.host.link();
    if (link?.isOpen()) {
      this.host.store.update({
        status: 'disconnecting',
        retryInMs: undefined,
        retryAt: undefined,
      });
      const close = { code, reason, wasClean: false };
      // The attempt ends when the close handshake completes; bound the wait for a dead peer.
      this.closing = {
        close,
        timer: this.host.options.scheduler.schedule(() => this.halt(close), DISCONNECT_TIMEOUT_MS),
      };
      link.socket.close(code, clampReason(reason));
    } else {
      this.halt(undefined);
    }
  }

  reconnect(): void {
    this.teardown();
    this.start();
  }

  /** Stops the loop without settling in a status (the client is being disposed, or restarts). */
  teardown(): void {
    this.switching = false;
    this.switched = false;
    this.clearClosing();
    this.runner?.unsubscribe();
    this.runner = undefined;
    this.host.dropLink(
      new RxwireError(ErrorCode.ConnectionClosed, 'connection closed by the client'),
    );
  }

  /** The attempt reached `$welcome`: counts start over. */
  connected(): void {
    this.welcomed = true;
    this.fresh = false;
    this.reconnection.connected();
  }

  /** Why a request or confirmed send cannot go out now: the client stopped (`disconnected`, `error`). */
  stoppedError(): RxwireError | undefined {
    if (this.running) return undefined;
    const { status, error } = this.host.store.value;
    if (status !== 'disconnected' && status !== 'error') return undefined;
    return new RxwireError(
      ErrorCode.ConnectionLost,
      `the client is ${status}${error ? ` (${error.message})` : ''}: call connect() or reconnect() first`,
      { cause: error },
    );
  }

  /**
   * Moves the session to another transport: the current socket is abandoned
   * without a close (the server keeps the session) and the next attempt,
   * started at once, resumes it. Nothing is lost or repeated.
   */
  switchTo(transport: TransportName): void {
    if (!this.host.transport.switchTo(transport)) return;
    const link = this.host.link();
    if (link === undefined) {
      this.host.store.update({ transport }); // waiting to retry: the next attempt uses it
      return;
    }
    // state.transport changes when the attempt over the new transport starts.
    this.switching = true;
    const socket = link.socket as WebSocketLike & { abandon?: () => void };
    if (typeof socket.abandon === 'function') socket.abandon();
    else socket.close();
  }

  private start(): void {
    this.reconnection.reset();
    this.fresh = true;
    const loop = defer(() => this.beginAttempt()).pipe(
      retry({ delay: (error: unknown) => this.afterFailure(error) }),
    );
    this.runner = loop.subscribe({ error: (stop: unknown) => this.settle(stop) });
  }

  private beginAttempt(): Observable<never> {
    const switched = this.switched;
    this.switched = false;
    this.welcomed = false;
    this.host.store.update({
      status: this.fresh && !switched ? 'connecting' : 'reconnecting',
      attempt: this.reconnection.attempt,
      transport: this.host.transport.current,
      retryInMs: undefined,
      retryAt: undefined,
    });
    return this.host.attempt();
  }

  /** The retry operator's `delay`: a timer to retry after, or a thrown {@link Stop}. */
  private afterFailure(error: unknown): Observable<unknown> {
    const failure = asRxwireError(error);
    const close = failure instanceof ConnectionClosedError ? failure.close : undefined;
    const { store, transport, options } = this.host;
    this.host.dropLink(failure);
    if (this.closing) throw new Stop('disconnected', undefined, close);
    const { logger, scheduler } = options;
    if (this.switching) {
      // A transport switch: the session is resumed on the other transport at once.
      this.switching = false;
      this.switched = true;
      logger.info('rxwire: switching transport', { to: transport.current });
      return timer(0, scheduler);
    }
    const fellBack = transport.failed(failure, close, this.welcomed);
    if (fellBack) store.update({ transport: transport.current });
    const step = this.reconnection.next(failure, close);
    logger.info('rxwire: connection attempt ended', {
      code: failure.code,
      message: failure.message,
      close,
      next: step.kind,
      ...(failure.cause !== undefined ? { cause: String(failure.cause) } : {}),
    });
    const lastClose = close ? { lastClose: close } : {};
    switch (step.kind) {
      case 'stop':
        throw new Stop(step.status, step.error, close);
      case 'reauthenticate':
        store.update({ error: failure, ...lastClose });
        return timer(0, scheduler);
      case 'retry':
        this.fresh = false;
        // The first attempt over the fallback transport starts at once.
        if (fellBack) step.wait = 0;
        store.update({
          status: 'reconnecting',
          attempt: step.attempt,
          retryInMs: step.wait,
          retryAt: scheduler.now() + step.wait,
          error: failure,
          ...lastClose,
        });
        return merge(timer(step.wait, scheduler), options.wakeups).pipe(take(1));
    }
  }

  /**
   * The loop ended for good (a thrown Stop), or the client halted it.
   * Everything waiting on the connection fails now with the reason: requests
   * (sent or queued) and confirmed sends. Plain sends stay queued for the
   * next `connect()`.
   */
  private settle(stop: unknown): void {
    this.clearClosing();
    const s = stop instanceof Stop ? stop : new Stop('error', asRxwireError(stop), undefined);
    this.host.stopped(stopReason(s), s.status === 'disconnected');
    this.host.store.update({
      status: s.status,
      error: s.error,
      queued: this.host.queued(),
      retryInMs: undefined,
      retryAt: undefined,
      ...(s.close ? { lastClose: s.close } : {}),
    });
  }

  private halt(close: CloseInfo | undefined): void {
    this.teardown();
    this.settle(new Stop('disconnected', undefined, close));
  }

  private clearClosing(): void {
    this.closing?.timer.unsubscribe();
    this.closing = undefined;
  }
}

/**
 * The error everything waiting on the connection fails with when the client
 * stops: the give-up error itself (RXWIRE_RECONNECT_FAILED, its cause the
 * last failure), else RXWIRE_CONNECTION_LOST with the fatal error or the
 * close as its cause.
 */
function stopReason(stop: Stop): RxwireError {
  if (stop.error?.code === ErrorCode.ReconnectFailed) return stop.error;
  const why = stop.error
    ? stop.error.message
    : stop.close
      ? `closed with ${stop.close.code}${stop.close.reason ? ` (${stop.close.reason})` : ''}`
      : 'disconnect() was called';
  return new RxwireError(ErrorCode.ConnectionLost, `the connection stopped: ${why}`, {
    cause: stop.error ?? stop.close,
  });
}

function asRxwireError(error: unknown): RxwireError {
  if (error instanceof RxwireError) return error;
  return new RxwireError(ErrorCode.ConnectionClosed, String((error as Error)?.message ?? error), {
    cause: error,
  });
}
