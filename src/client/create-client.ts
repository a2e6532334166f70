import { Subject, Subscription, defer, map, throwError, type Observable } from 'rxjs';
import {
  Control,
  ErrorCode,
  RxwireError,
  QueueFullError,
  RxwireTypeError,
  IsoClock,
  createIdGenerator,
  isReservedType,
  type DecodedFrame,
  type WelcomePayload,
  type AnyProtocol,
  type Envelope,
  type Protocol,
} from '../protocol/index.js';
import { callToken, connectAttempt, type Link } from './attempt.js';
import { AudioInput, AudioSender, type AudioStats } from './audio-sender.js';
import type { Client, ConfirmOptions, RequestOptions, SessionInfo } from './client.js';
import { ConnectionLoop } from './connection-loop.js';
import { ClientDelivery } from './delivery.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { RequestRegistry } from './requests.js';
import { Inbound } from './inbound.js';
import { StateStore, type ConnectionState } from './state.js';
import { TransportSwitch } from './transport-switch.js';

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
 * The client: its public surface, wired to its parts, and what happens on a
 * connection (`$welcome`, frames, latency, token refresh). The connection's
 * coming and going (attempts, backoff, the close policy, `connect` and
 * `disconnect`) lives in {@link ConnectionLoop}, delivery (numbering, acks,
 * resends, confirmed sends) in {@link ClientDelivery}, the choice of transport
 * in {@link TransportSwitch}, one attempt in `connectAttempt`.
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

  private link: Link | undefined;
  private readonly loop: ConnectionLoop;
  private disposed = false;
  /** The snapshot `state` returns while nothing changed, and the store value it was made from. */
  private snapshot: { of: ConnectionState; state: ConnectionState } | undefined;

  constructor(private readonly options: ResolvedOptions) {
    this.transport = new TransportSwitch(options, {
      connected: () => this.link !== undefined,
      moveBack: () => this.loop.switchTo('websocket'),
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
    this.loop = new ConnectionLoop({
      options,
      store: this.store,
      transport: this.transport,
      attempt: () => this.attempt(),
      link: () => this.link,
      dropLink: (cause) => this.dropLink(cause),
      stopped: (error, endSession) => this.stopped(error, endSession),
      queued: () => this.outbox.size,
    });
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
    this.loop.connect();
  }

  disconnect(code = 1000, reason = ''): void {
    this.loop.disconnect(code, reason);
  }

  reconnect(): void {
    this.assertAlive();
    this.loop.reconnect();
  }

  dispose(): void {
    if (this.disposed) return;
    if (this.link?.isOpen()) this.link.socket.close(1000, 'client disposed');
    this.loop.teardown();
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
    const stopped = this.loop.stoppedError();
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
      const stopped = this.loop.stoppedError();
      if (stopped !== undefined) return throwError(() => stopped);
      const envelope = this.envelope(type, payload);
      envelope.request = true;
      return this.requests.open<never>(envelope, options.timeout ?? this.options.requestTimeout);
    });
  }

  // ---- the connection --------------------------------------------------------

  /** One connection attempt, with this client's handlers (see `connectAttempt`). */
  private attempt(): Observable<never> {
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

  /**
   * The client stopped for good (gave up, a fatal close, `disconnect()`):
   * requests (sent or queued) and confirmed sends fail with `error`; queued
   * requests leave the queue. Plain sends stay queued for the next `connect()`.
   */
  private stopped(error: RxwireError, endSession: boolean): void {
    this.outbox.removeWhere((envelope) => envelope.request === true);
    this.requests.failAll(error);
    this.delivery.failConfirms(error);
    if (endSession) this.delivery.endSession();
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
    this.loop.connected();
    this.transport.welcomed();
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
    callToken(
      token,
      (fresh) => {
        // Only on the connection that was asked: a new one authenticated afresh.
        if (this.link === link) this.sendControl(Control.Auth, { token: fresh }, replyTo, link);
      },
      (error) => this.inbound.report(error),
    );
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
