import {
  Subject,
  Subscription,
  defer,
  map,
  merge,
  retry,
  take,
  throwError,
  timer,
  type Observable,
} from 'rxjs';
import {
  ConnectionClosedError,
  Control,
  ErrorCode,
  RxwireError,
  QueueFullError,
  RxwireTypeError,
  IsoClock,
  clampReason,
  createIdGenerator,
  isReservedType,
  type DecodedFrame,
  type WelcomePayload,
  type AnyProtocol,
  type CloseInfo,
  type Envelope,
  type Protocol,
} from '../protocol/index.js';
import { connectAttempt, tokenError, type Link } from './attempt.js';
import type { WebSocketLike } from './socket.js';
import { AudioInput, AudioSender, type AudioStats } from './audio-sender.js';
import type { Client, ConfirmOptions, RequestOptions, SessionInfo } from './client.js';
import { ClientDelivery } from './delivery.js';
import { Reconnection } from './reconnection.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { RequestRegistry } from './requests.js';
import { Inbound } from './inbound.js';
import { StateStore, type ConnectionState, type ConnectionStatus } from './state.js';
import { TransportSwitch, type TransportName } from './transport-switch.js';

/** How long `disconnect()` waits for the server to answer the close frame. */
const DISCONNECT_TIMEOUT_MS = 5000;

/** Ends the retry loop; carries the status the client settles in. */
class Stop {
  constructor(
    readonly status: Extract<ConnectionStatus, 'disconnected' | 'error'>,
    readonly error: RxwireError | undefined,
    readonly close: CloseInfo | undefined,
  ) {}
}

/**
 * Creates a client. The connection is a cold Observable, `defer(() => webSocket(...))`
 * with `retry({delay})`: one fresh socket per attempt, the close policy decides
 * whether a close is retried, and exponential backoff with jitter spaces the attempts.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'; // Node 20 only; browsers have WebSocket built in
 * const client = createClient<ChatProtocol>({ url: 'ws://localhost:3001/ws', WebSocketCtor: WebSocket });
 * client.on('presence').subscribe((p) => render(p.online));
 * client.request('chat', { text: 'hi' }).subscribe((t) => append(t.token));
 * ```
 */
export function createClient<P extends Protocol = AnyProtocol>(
  options: ClientOptions<P['server']> = {},
): Client<P> {
  return new RxwireClient<P>(resolveOptions(options as ClientOptions<never>));
}

/**
 * The client: the connection loop (attempts, backoff, the close policy,
 * `connect`/`disconnect`) and the public surface. Delivery (numbering, acks,
 * resends, confirmed sends) lives in {@link ClientDelivery}, the choice of
 * transport in {@link TransportSwitch}, one attempt in `connectAttempt`.
 */
class RxwireClient<P extends Protocol> implements Client<P> {
  private readonly store: StateStore;
  private readonly inbound: Inbound;
  private readonly latency = new Subject<number>();
  private readonly outbox: Outbox<Envelope>;
  private readonly requests: RequestRegistry;
  private readonly delivery: ClientDelivery;
  private readonly transport: TransportSwitch;
  private readonly nextId = createIdGenerator();
  private readonly clock = new IsoClock();
  private readonly sessionsSubject = new Subject<SessionInfo>();
  readonly sessions$: Observable<SessionInfo> = this.sessionsSubject.asObservable();

  readonly audio: AudioInput;
  readonly state$: Observable<ConnectionState>;
  readonly messages$: Observable<Envelope>;
  readonly latency$: Observable<number>;
  readonly errors$: Observable<RxwireError>;
  readonly audioStats$: Observable<AudioStats>;
  private readonly audioSender: AudioSender;

  private runner: Subscription | undefined;
  private link: Link | undefined;
  private readonly reconnection: Reconnection;
  /** A `disconnect()` waiting for the close handshake, and the close it asked for. */
  private closing: { timer: Subscription; close: CloseInfo } | undefined;
  private disposed = false;
  /** No attempt of this run has failed or connected yet (status `connecting`). */
  private fresh = true;
  /** Whether the current attempt reached `$welcome`. */
  private welcomed = false;
  /** A transport switch is dropping the link: the next attempt starts at once. */
  private switching = false;
  /** The attempt after a switch, reported as `reconnecting`. */
  private switched = false;
  /** The snapshot `state` returns while nothing changed, and the store value it was made from. */
  private snapshot: { of: ConnectionState; state: ConnectionState } | undefined;

  constructor(private readonly options: ResolvedOptions) {
    this.reconnection = new Reconnection(options);
    this.transport = new TransportSwitch(options, {
      connected: () => this.link !== undefined,
      changed: (transport) => this.store.update({ transport }),
      moveBack: () => this.switchTo('websocket'),
    });
    this.store = new StateStore({
      status: 'idle',
      transport: this.transport.current,
      attempt: 0,
      maxAttempts: options.reconnect ? options.reconnect.maxAttempts : 0,
      queued: 0,
      dropped: 0,
      unacked: 0,
      resent: 0,
      duplicates: 0,
    });
    this.state$ = this.store.state$.pipe(map((state) => this.withCounters(state)));

    this.latency$ = this.latency.asObservable();
    this.outbox = new Outbox<Envelope>(options.queue, (dropped) => {
      options.logger.warn('rxwire: offline queue full, message dropped', {
        type: dropped.type,
        policy: options.queue.overflow,
        dropped: this.outbox.dropped,
      });
      if (dropped.request) this.requests.failDropped(dropped.id, options.queue.limit);
      this.delivery.settleConfirm(dropped, new QueueFullError(options.queue.limit));
    });
    this.requests = new RequestRegistry(
      {
        submit: (envelope) => this.delivery.submit(envelope),
        cancel: (id) => this.sendControl(Control.Cancel, null, id),
        unqueue: (id) => {
          if (this.outbox.remove(id)) this.store.update({ queued: this.outbox.size });
        },
      },
      options.scheduler,
    );
    this.delivery = new ClientDelivery({
      scheduler: options.scheduler,
      logger: options.logger,
      maxUnacked: options.maxUnacked,
      outbox: this.outbox,
      requests: this.requests,
      link: () => this.link,
      nextId: this.nextId,
      timestamp: () => this.timestamp(),
      queued: (size) => this.store.update({ queued: size, dropped: this.outbox.dropped }),
      brokenAck: (error) => this.inbound.report(error),
    });
    this.inbound = new Inbound({
      validate: options.validate,
      logger: options.logger,
      requests: this.requests,
      reply: (link, type, payload, replyTo) => this.sendControl(type, payload, replyTo, link),
      refresh: (link, replyTo) => this.refreshToken(link, replyTo),
    });
    this.messages$ = this.inbound.messages$;
    this.errors$ = this.inbound.errors$;
    this.audioSender = new AudioSender(options.audio.highWaterMarkMs, (error) =>
      this.inbound.report(
        new RxwireError(
          ErrorCode.InvalidPayload,
          `audio chunk not sent: ${(error as Error).message}`,
        ),
      ),
    );
    this.audioStats$ = this.audioSender.stats$;
    this.audio = new AudioInput(
      (chunk) => this.audioSender.send(chunk, this.link),
      (error) =>
        this.inbound.report(
          error instanceof RxwireError
            ? error
            : new RxwireError(
                ErrorCode.AudioSourceFailed,
                `an audio stream piped into client.audio failed: ${(error as Error)?.message ?? String(error)}`,
                { cause: error },
              ),
        ),
    );
    if (options.autoConnect) this.connect();
  }

  get state(): ConnectionState {
    return this.withCounters(this.store.value);
  }

  /**
   * The store emits on connection changes; delivery counters are read live.
   * The same object comes back while neither changed, so `state` can be a
   * `useSyncExternalStore` snapshot.
   */
  private withCounters(state: ConnectionState): ConnectionState {
    const { seq } = this.delivery;
    const cached = this.snapshot;
    if (
      cached !== undefined &&
      cached.of === state &&
      cached.state.unacked === seq.unacked &&
      cached.state.resent === seq.resent &&
      cached.state.duplicates === seq.duplicates
    ) {
      return cached.state;
    }
    const next = Object.freeze({
      ...state,
      unacked: seq.unacked,
      resent: seq.resent,
      duplicates: seq.duplicates,
    });
    this.snapshot = { of: state, state: next };
    return next;
  }

  connect(): void {
    this.assertAlive();
    if (this.closing !== undefined) {
      // A disconnect() still waiting for its close handshake ends here; then start over.
      this.halt(this.closing.close);
    } else if (this.runner && !this.runner.closed) {
      return;
    }
    this.start();
  }

  disconnect(code = 1000, reason = ''): void {
    if (!this.runner || this.runner.closed) return;
    if (this.closing) return;
    const link = this.link;
    if (link?.isOpen()) {
      this.store.update({ status: 'disconnecting', retryInMs: undefined, retryAt: undefined });
      const close = { code, reason, wasClean: false };
      // The attempt ends when the close handshake completes; bound the wait for a dead peer.
      this.closing = {
        close,
        timer: this.options.scheduler.schedule(() => this.halt(close), DISCONNECT_TIMEOUT_MS),
      };
      link.socket.close(code, clampReason(reason));
    } else {
      this.halt(undefined);
    }
  }

  reconnect(): void {
    this.assertAlive();
    this.teardown();
    this.start();
  }

  dispose(): void {
    if (this.disposed) return;
    if (this.link?.isOpen()) this.link.socket.close(1000, 'client disposed');
    this.teardown();
    this.disposed = true;
    this.store.update({ status: 'disconnected', retryInMs: undefined, retryAt: undefined });
    const disposed = new RxwireError(ErrorCode.Disposed, 'the client was disposed');
    this.requests.failAll(disposed);
    this.delivery.failConfirms(disposed);
    this.sessionsSubject.complete();
    this.inbound.complete();
    this.latency.complete();
    this.audio.close();
    this.audioSender.complete();
    this.store.complete();
  }

  on<K extends string>(type: K): Observable<never> {
    return this.inbound.observe(type) as Observable<never>;
  }

  send(type: string, payload: unknown): void {
    this.assertAlive();
    this.assertType(type);
    this.delivery.submit(this.envelope(type, payload));
  }

  sendConfirmed(type: string, payload: unknown, options: ConfirmOptions = {}): Promise<void> {
    this.assertAlive();
    this.assertType(type);
    const stopped = this.stoppedError();
    if (stopped !== undefined) return Promise.reject(stopped);
    const envelope = this.envelope(type, payload);
    envelope.ackSoon = true; // the caller is waiting for the server's ack
    const { delivery } = this;
    return new Promise<void>((resolve, reject) => {
      let timeout: Subscription | undefined;
      const done = (): void => {
        timeout?.unsubscribe();
        delivery.forget(envelope);
      };
      delivery.confirm(envelope, {
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      if (options.timeout !== undefined && options.timeout > 0) {
        timeout = this.options.scheduler.schedule(
          () =>
            delivery.settleConfirm(
              envelope,
              new RxwireError(
                ErrorCode.ConfirmTimeout,
                `'${type}' was not acknowledged within ${options.timeout} ms`,
              ),
            ),
          options.timeout,
        );
      }
      try {
        delivery.submit(envelope);
      } catch (error) {
        delivery.settleConfirm(envelope, error);
      }
    });
  }

  request(type: string, payload: unknown, options: RequestOptions = {}): Observable<never> {
    this.assertType(type);
    return defer(() => {
      this.assertAlive();
      const stopped = this.stoppedError();
      if (stopped !== undefined) return throwError(() => stopped);
      const envelope = this.envelope(type, payload);
      envelope.request = true;
      return this.requests.open<never>(envelope, options.timeout ?? this.options.requestTimeout);
    });
  }

  // ---- connection loop -------------------------------------------------------

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
    this.store.update({
      status: this.fresh && !switched ? 'connecting' : 'reconnecting',
      attempt: this.reconnection.attempt,
      transport: this.transport.current,
      retryInMs: undefined,
      retryAt: undefined,
    });
    return connectAttempt(
      this.options,
      {
        welcome: (link, welcome, rtt) => this.onWelcome(link, welcome, rtt),
        frame: (frame, link) => this.onFrame(frame, link),
        latency: (ms) => this.onLatency(ms),
        resume: () => this.delivery.resumeRequest(),
        ack: (ack, link) => this.delivery.onAck(ack, link),
      },
      this.nextId,
      this.transport.ctor,
    );
  }

  /** The retry operator's `delay`: a timer to retry after, or a thrown {@link Stop}. */
  private afterFailure(error: unknown): Observable<unknown> {
    const failure = asRxwireError(error);
    const close = failure instanceof ConnectionClosedError ? failure.close : undefined;
    this.dropLink(failure);
    if (this.closing) throw new Stop('disconnected', undefined, close);
    const { logger, scheduler } = this.options;
    if (this.switching) {
      // A transport switch: the session is resumed on the other transport at once.
      this.switching = false;
      this.switched = true;
      logger.info('rxwire: switching transport', { to: this.transport.current });
      return timer(0, scheduler);
    }
    const fellBack = this.transport.failed(failure, close, this.welcomed);
    if (fellBack) this.store.update({ transport: this.transport.current });
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
        this.store.update({ error: failure, ...lastClose });
        return timer(0, scheduler);
      case 'retry':
        this.fresh = false;
        // The first attempt over the fallback transport starts at once.
        if (fellBack) step.wait = 0;
        this.store.update({
          status: 'reconnecting',
          attempt: step.attempt,
          retryInMs: step.wait,
          retryAt: scheduler.now() + step.wait,
          error: failure,
          ...lastClose,
        });
        return merge(timer(step.wait, scheduler), this.options.wakeups).pipe(take(1));
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
    const why = stopReason(s);
    this.failWaiting(why);
    if (s.status === 'disconnected') this.delivery.endSession();
    this.store.update({
      status: s.status,
      error: s.error,
      queued: this.outbox.size,
      retryInMs: undefined,
      retryAt: undefined,
      ...(s.close ? { lastClose: s.close } : {}),
    });
  }

  /** Fails every request and confirmed send with `error`; queued requests leave the queue. */
  private failWaiting(error: RxwireError): void {
    this.outbox.removeWhere((envelope) => envelope.request === true);
    this.requests.failAll(error);
    this.delivery.failConfirms(error);
  }

  /** Why a request or confirmed send cannot go out now: the client stopped (`disconnected`, `error`). */
  private stoppedError(): RxwireError | undefined {
    if (this.runner !== undefined && !this.runner.closed) return undefined;
    const { status, error } = this.store.value;
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
  private switchTo(transport: TransportName): void {
    if (!this.transport.switchTo(transport)) return;
    const link = this.link;
    if (link === undefined) {
      this.store.update({ transport }); // waiting to retry: the next attempt uses it
      return;
    }
    // state.transport changes when the attempt over the new transport starts.
    this.switching = true;
    const socket = link.socket as WebSocketLike & { abandon?: () => void };
    if (typeof socket.abandon === 'function') socket.abandon();
    else socket.close();
  }

  private halt(close: CloseInfo | undefined): void {
    this.teardown();
    this.settle(new Stop('disconnected', undefined, close));
  }

  private teardown(): void {
    this.switching = false;
    this.switched = false;
    this.clearClosing();
    this.runner?.unsubscribe();
    this.runner = undefined;
    this.dropLink(new RxwireError(ErrorCode.ConnectionClosed, 'connection closed by the client'));
  }

  private clearClosing(): void {
    this.closing?.timer.unsubscribe();
    this.closing = undefined;
  }

  /**
   * The socket is gone. With a server that resumes sessions, sent requests
   * stay pending; without one they cannot complete.
   */
  private dropLink(cause: unknown): void {
    this.transport.stopProbe();
    if (!this.link) return;
    this.link = undefined;
    if (!this.delivery.reliable) this.requests.failSent(cause);
    this.delivery.stopAcks();
  }

  private onWelcome(link: Link, welcome: WelcomePayload, rtt: number): void {
    const { sessionId } = welcome;
    this.link = link;
    this.welcomed = true;
    this.fresh = false;
    this.transport.welcomed();
    this.reconnection.connected();
    const { resumed, resent, previous } = this.delivery.welcome(link, welcome);
    this.store.update({
      status: 'connected',
      attempt: 0,
      sessionId,
      resumed,
      latencyMs: rtt,
      queued: this.outbox.size,
      error: undefined,
      retryInMs: undefined,
      retryAt: undefined,
    });
    this.latency.next(rtt);
    this.sessionsSubject.next(
      previous !== undefined && previous !== sessionId
        ? { sessionId, resumed, previousSessionId: previous }
        : { sessionId, resumed },
    );
    this.options.logger.info('rxwire: connected', {
      sessionId,
      resumed,
      resent,
      rttMs: rtt,
      transport: this.transport.current,
    });
    if (this.link === link) this.transport.scheduleProbe();
  }

  /** Every frame after `$welcome` but `$pong`: acks and sequence numbers first, then routing. */
  private onFrame(frame: DecodedFrame, link: Link): void {
    if (frame.kind === 'envelope') {
      const receipt = this.delivery.receive(frame.envelope, link);
      if (receipt === 'gap') {
        // Resuming makes the server resend from our ack.
        link.socket.close();
        return;
      }
      if (receipt === 'duplicate') return;
    }
    this.inbound.handle(frame, link);
  }

  /**
   * The server's `$refresh`: the session's token expires soon. Calls `token()`
   * and answers `$auth` on the same connection, which carries on; without a
   * `token` function there is nothing to send, and the server closes at
   * expiry with 4401 (then the client reconnects with a fresh token).
   */
  private refreshToken(link: Link, replyTo: string): void {
    const { token, logger } = this.options;
    if (token === undefined) {
      logger.warn('rxwire: the server asked for a fresh token, but there is no `token` option');
      return;
    }
    const answer = (fresh: string): void => {
      if (this.link === link && link.isOpen()) {
        this.sendControl(Control.Auth, { token: fresh }, replyTo, link);
      }
    };
    let value: string | Promise<string>;
    try {
      value = token();
    } catch (cause) {
      this.inbound.report(tokenError(cause));
      return;
    }
    // A plain string answers at once, so marble tests stay exact.
    if (typeof value === 'string') answer(value);
    else value.then(answer, (cause: unknown) => this.inbound.report(tokenError(cause)));
  }

  private onLatency(ms: number): void {
    this.store.update({ latencyMs: ms });
    this.latency.next(ms);
  }

  // ---- outbound --------------------------------------------------------------

  private envelope(type: string, payload: unknown): Envelope {
    return {
      type,
      id: this.nextId(),
      // JSON drops undefined; peers in other languages expect the field.
      payload: payload === undefined ? null : payload,
      timestamp: this.timestamp(),
    };
  }

  /** ISO-8601 now (on the scheduler's clock). */
  private timestamp(): string {
    return this.clock.format(this.options.scheduler.now());
  }

  /** A control frame, answering `replyTo` (see {@link ClientDelivery.control}). */
  private sendControl(
    type: string,
    payload: unknown,
    replyTo: string | undefined,
    link: Link | undefined = this.link,
  ): void {
    const envelope = this.envelope(type, payload);
    if (replyTo !== undefined) envelope.replyTo = replyTo;
    this.delivery.control(envelope, link);
  }

  private assertType(type: string): void {
    if (typeof type !== 'string' || type.length === 0 || isReservedType(type)) {
      throw new RxwireTypeError(
        ErrorCode.ReservedType,
        `message type '${String(type)}' is reserved or empty: types starting with '$' belong to the protocol`,
      );
    }
  }

  private assertAlive(): void {
    if (this.disposed) throw new RxwireError(ErrorCode.Disposed, 'the client was disposed');
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
