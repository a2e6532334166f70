import {
  Subject,
  Subscription,
  defer,
  map,
  merge,
  retry,
  take,
  timer,
  type Observable,
  type SchedulerAction,
} from 'rxjs';
import {
  ConnectionClosedError,
  Control,
  ErrorCode,
  RxwireError,
  QueueFullError,
  RxwireTypeError,
  IsoClock,
  ACK_DELAY_MS,
  ACK_LAZY_MS,
  Sequencer,
  clampReason,
  createIdGenerator,
  encodeEnvelope,
  isReservedType,
  isSequenced,
  type DecodedFrame,
  type ResumeRequest,
  type WelcomePayload,
  type AnyProtocol,
  type CloseInfo,
  type Envelope,
  type Protocol,
} from '../protocol/index.js';
import { connectAttempt, type Link } from './attempt.js';
import { HttpSocket } from './http-socket.js';
import type { WebSocketConstructor, WebSocketLike } from './socket.js';
import { AudioInput, AudioSender, type AudioStats } from './audio-sender.js';
import type { Client, ConfirmOptions, RequestOptions, SessionInfo } from './client.js';
import { Reconnection } from './reconnection.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { RequestRegistry } from './requests.js';
import { Inbound } from './inbound.js';
import { StateStore, type ConnectionState, type ConnectionStatus } from './state.js';

/** How long `disconnect()` waits for the server to answer the close frame. */
const DISCONNECT_TIMEOUT_MS = 5000;
/** A confirmed send waiting for the server's ack. */
interface Confirmation {
  resolve(): void;
  reject(error: unknown): void;
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

class RxwireClient<P extends Protocol> implements Client<P> {
  private readonly store: StateStore;
  private readonly inbound: Inbound;
  private readonly latency = new Subject<number>();
  private readonly outbox: Outbox<Envelope>;
  private readonly requests: RequestRegistry;
  private readonly nextId = createIdGenerator();
  /** Sequencing and acks for the current session. */
  private readonly seq = new Sequencer<Envelope>();
  /** Whether the server acknowledges (its `$welcome` offered a resume token). */
  private reliable = false;
  /** The session to resume on the next connection. */
  private session: { id: string; token: string } | undefined;
  private readonly confirms = new Map<Envelope, Confirmation>();
  private ackTimer: Subscription | undefined;
  /** When the armed ack tick runs (scheduler time). */
  private ackAt = 0;
  /** A frame arrived since the ack tick last ran (see scheduleAck). */
  private ackActivity = false;
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
  private closing: Subscription | undefined;
  private disposed = false;
  /** The transport of the current (or next) attempt. */
  private transport: 'websocket' | 'http';
  /** The HTTP transport's constructor, made once. */
  private readonly httpCtor: WebSocketConstructor | undefined;
  /** Consecutive WebSocket attempts that failed before `$welcome`. */
  private wsFailures = 0;
  /** Whether the current attempt reached `$welcome`. */
  private welcomed = false;
  /** A transport switch is dropping the link: the next attempt starts at once. */
  private switching = false;
  /** The attempt after a switch, reported as `reconnecting`. */
  private switched = false;
  private probeTimer: Subscription | undefined;
  private probeSocket: WebSocketLike | undefined;

  constructor(private readonly options: ResolvedOptions) {
    this.reconnection = new Reconnection(options);
    this.httpCtor = options.transports.includes('http')
      ? HttpSocket.with({ fetch: options.fetch! })
      : undefined;
    this.transport =
      options.transports[0] === 'http' ||
      !options.transports.includes('websocket') ||
      options.WebSocketCtor === undefined
        ? 'http'
        : 'websocket';
    this.store = new StateStore({
      status: 'idle',
      transport: this.transport,
      attempt: 0,
      maxAttempts: options.reconnect ? options.reconnect.maxAttempts : 1,
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
      this.settleConfirm(dropped, new QueueFullError(options.queue.limit));
    });
    this.requests = new RequestRegistry(
      {
        submit: (envelope) => this.submit(envelope),
        cancel: (id) => this.sendControl(Control.Cancel, null, id),
        unqueue: (id) => {
          if (this.outbox.remove(id)) this.store.update({ queued: this.outbox.size });
        },
      },
      options.scheduler,
    );
    this.inbound = new Inbound({
      validate: options.validate,
      logger: options.logger,
      requests: this.requests,
      reply: (link, type, payload, replyTo) => this.sendControl(type, payload, replyTo, link),
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

  /** The store emits on connection changes; delivery counters are read live. */
  private withCounters(state: ConnectionState): ConnectionState {
    const { seq } = this;
    return { ...state, unacked: seq.unacked, resent: seq.resent, duplicates: seq.duplicates };
  }

  connect(): void {
    this.assertAlive();
    if (this.runner && !this.runner.closed) return;
    this.start();
  }

  disconnect(code = 1000, reason = ''): void {
    if (!this.runner || this.runner.closed) return;
    if (this.closing) return;
    const link = this.link;
    if (link?.isOpen()) {
      this.store.update({ status: 'disconnecting', retryInMs: undefined, retryAt: undefined });
      // The attempt ends when the close handshake completes; bound the wait for a dead peer.
      this.closing = this.options.scheduler.schedule(
        () => this.halt({ code, reason, wasClean: false }),
        DISCONNECT_TIMEOUT_MS,
      );
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
    for (const confirmation of [...this.confirms.values()]) confirmation.reject(disposed);
    this.confirms.clear();
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
    this.submit(this.envelope(type, payload));
  }

  sendConfirmed(type: string, payload: unknown, options: ConfirmOptions = {}): Promise<void> {
    this.assertAlive();
    this.assertType(type);
    const envelope = this.envelope(type, payload);
    envelope.ackSoon = true; // the caller is waiting for the server's ack
    return new Promise<void>((resolve, reject) => {
      let timeout: Subscription | undefined;
      const done = (): void => {
        timeout?.unsubscribe();
        this.confirms.delete(envelope);
      };
      this.confirms.set(envelope, {
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
            this.settleConfirm(
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
        this.submit(envelope);
      } catch (error) {
        this.settleConfirm(envelope, error);
      }
    });
  }

  request(type: string, payload: unknown, options: RequestOptions = {}): Observable<never> {
    this.assertType(type);
    return defer(() => {
      this.assertAlive();
      const envelope = this.envelope(type, payload);
      envelope.request = true;
      return this.requests.open<never>(envelope, options.timeout ?? this.options.requestTimeout);
    });
  }

  // ---- connection loop -------------------------------------------------------

  private start(): void {
    this.reconnection.reset();
    const loop = defer(() => this.beginAttempt()).pipe(
      retry({ delay: (error: unknown) => this.afterFailure(error) }),
    );
    this.runner = loop.subscribe({ error: (stop: unknown) => this.settle(stop) });
  }

  private beginAttempt(): Observable<never> {
    const { attempt, first } = this.reconnection.begin();
    const switched = this.switched;
    this.switched = false;
    this.welcomed = false;
    this.store.update({
      status: first && !switched ? 'connecting' : 'reconnecting',
      attempt,
      transport: this.transport,
      retryInMs: undefined,
      retryAt: undefined,
    });
    const Ctor = this.transport === 'http' ? this.httpCtor! : this.options.WebSocketCtor!;
    return connectAttempt(
      this.options,
      {
        welcome: (link, welcome, rtt) => this.onWelcome(link, welcome, rtt),
        frame: (frame, link) => this.onFrame(frame, link),
        latency: (ms) => this.onLatency(ms),
        resume: () => this.resumeRequest(),
        ack: (ack, link) => this.onAck(ack, link),
      },
      this.nextId,
      Ctor,
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
      logger.info('rxwire: switching transport', { to: this.transport });
      return timer(0, scheduler);
    }
    const fellBack = this.countTransportFailure(failure, close);
    const step = this.reconnection.next(failure, close);
    logger.info('rxwire: connection attempt ended', { code: failure.code, close, next: step.kind });
    const lastClose = close ? { lastClose: close } : {};
    switch (step.kind) {
      case 'stop':
        throw new Stop(step.status, step.error, close);
      case 'reauthenticate':
        this.store.update({ error: failure, ...lastClose });
        return timer(0, scheduler);
      case 'retry':
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

  /** The loop ended for good (a thrown Stop), or the client halted it. */
  private settle(stop: unknown): void {
    this.clearClosing();
    const s = stop instanceof Stop ? stop : new Stop('error', asRxwireError(stop), undefined);
    // Requests in flight cannot complete now; a later connect() starts a new session.
    this.requests.failSent(s.error ?? s.close);
    if (s.status === 'disconnected') this.session = undefined;
    this.store.update({
      status: s.status,
      error: s.error,
      retryInMs: undefined,
      retryAt: undefined,
      ...(s.close ? { lastClose: s.close } : {}),
    });
  }

  /**
   * Counts a WebSocket attempt that failed before `$welcome` without a close
   * the server chose; after `fallbackAfter` in a row, moves to HTTP. Returns
   * true when it just did.
   */
  private countTransportFailure(failure: RxwireError, close: CloseInfo | undefined): boolean {
    if (this.welcomed) {
      this.wsFailures = 0;
      return false;
    }
    if (this.transport !== 'websocket' || this.httpCtor === undefined) return false;
    const dropped =
      close === undefined ||
      close.code === 1006 ||
      close.code === 1005 ||
      close.code === 1015 ||
      failure.code === ErrorCode.ConnectTimeout;
    if (!dropped) return false;
    this.wsFailures++;
    if (this.wsFailures < this.options.fallbackAfter) return false;
    this.wsFailures = 0;
    this.transport = 'http';
    this.store.update({ transport: 'http' });
    this.options.logger.warn('rxwire: WebSocket keeps failing, falling back to HTTP', {
      attempts: this.options.fallbackAfter,
    });
    return true;
  }

  /** While connected over HTTP, tries a WebSocket every `probeInterval`. */
  private scheduleProbe(): void {
    const { probeInterval, scheduler, WebSocketCtor, transports } = this.options;
    if (
      this.transport !== 'http' ||
      WebSocketCtor === undefined ||
      !transports.includes('websocket') ||
      !(probeInterval > 0 && Number.isFinite(probeInterval))
    ) {
      return;
    }
    this.stopProbe();
    this.probeTimer = scheduler.schedule(() => {
      this.probeTimer = undefined;
      this.probe(WebSocketCtor);
    }, probeInterval);
  }

  private probe(Ctor: WebSocketConstructor): void {
    if (this.transport !== 'http' || this.link === undefined) return;
    const { logger, scheduler, connectTimeout, url } = this.options;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      logger.debug('rxwire: WebSocket probe failed', { error: String(error) });
      this.scheduleProbe();
      return;
    }
    this.probeSocket = socket;
    const noop = (): void => undefined;
    const giveUp = scheduler.schedule(() => finish(false), connectTimeout);
    const finish = (opened: boolean): void => {
      if (this.probeSocket !== socket) return;
      this.probeSocket = undefined;
      giveUp.unsubscribe();
      socket.onopen = noop;
      socket.onclose = noop;
      socket.onmessage = noop;
      socket.onerror = noop;
      try {
        if (opened) socket.close(1000, 'probe');
        else socket.close();
      } catch {
        // a socket still connecting may refuse a close; it is dropped either way
      }
      logger.debug('rxwire: WebSocket probe', { opened });
      if (opened) this.switchTo('websocket');
      else this.scheduleProbe();
    };
    socket.onopen = () => finish(true);
    socket.onerror = () => finish(false);
    socket.onclose = () => finish(false);
  }

  private stopProbe(): void {
    this.probeTimer?.unsubscribe();
    this.probeTimer = undefined;
    const socket = this.probeSocket;
    if (socket !== undefined) {
      this.probeSocket = undefined;
      const noop = (): void => undefined;
      socket.onopen = noop;
      socket.onclose = noop;
      socket.onmessage = noop;
      socket.onerror = noop;
      try {
        socket.close();
      } catch {
        // dropped either way
      }
    }
  }

  /**
   * Moves the session to another transport: the current socket is abandoned
   * without a close (the server keeps the session) and the next attempt,
   * started at once, resumes it. Nothing is lost or repeated.
   */
  private switchTo(transport: 'websocket' | 'http'): void {
    if (this.transport === transport) return;
    const link = this.link;
    this.transport = transport;
    this.wsFailures = 0;
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
    this.closing?.unsubscribe();
    this.closing = undefined;
  }

  /**
   * The socket is gone. With a server that resumes sessions, sent requests
   * stay pending; without one they cannot complete.
   */
  private dropLink(cause: unknown): void {
    this.stopProbe();
    if (!this.link) return;
    this.link = undefined;
    if (!this.reliable) this.requests.failSent(cause);
    this.ackTimer?.unsubscribe();
    this.ackTimer = undefined;
  }

  private onWelcome(link: Link, welcome: WelcomePayload, rtt: number): void {
    const { sessionId } = welcome;
    const previous = this.session?.id;
    const resumed = welcome.resumed === true && previous === sessionId && this.reliable;
    this.link = link;
    this.welcomed = true;
    if (this.transport === 'websocket') this.wsFailures = 0;
    this.reconnection.connected();
    let resent = 0;
    if (resumed) {
      if (typeof welcome.ack === 'number') this.acknowledge(welcome.ack);
      this.seq.ackSent = this.seq.received; // our $hello carried it
      // Flush before announcing `connected`, so a send() made in a state$
      // callback cannot overtake what the server missed or what waited.
      const pending = this.seq.pending();
      this.seq.resent += pending.length;
      resent = pending.length;
      for (const { value } of pending) this.write(value, link);
    } else {
      this.startSession(previous !== undefined);
    }
    this.reliable = typeof welcome.resumeToken === 'string';
    this.session = this.reliable ? { id: sessionId, token: welcome.resumeToken! } : undefined;
    this.pump(link);
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
      transport: this.transport,
    });
    if (this.link === link) this.scheduleProbe();
  }

  /**
   * The server started a new session (the first, or the old one was not
   * resumed). Sequencing restarts; what the old session never acknowledged is
   * sent again (at-least-once across a server restart), except requests it
   * had accepted, which cannot complete and error with RXWIRE_SESSION_LOST.
   */
  private startSession(hadSession: boolean): void {
    const pending = this.seq.reset();
    if (hadSession) {
      this.requests.failSent(undefined, ErrorCode.SessionLost);
      this.options.logger.warn('rxwire: the server did not resume the session', {
        resending: pending.filter(({ value }) => !value.request && isSequencedApp(value)).length,
      });
    }
    const again: Envelope[] = [];
    for (const { value } of pending) {
      delete value.seq;
      delete value.ack;
      if (value.request || !isSequencedApp(value)) continue; // failed above / a stale $cancel
      again.push(value);
    }
    this.outbox.unshift(again);
  }

  /** What `$hello` carries to resume the previous session. */
  private resumeRequest(): ResumeRequest | undefined {
    const session = this.session;
    if (session === undefined) return undefined;
    return { sessionId: session.id, token: session.token, ack: this.seq.received };
  }

  /** Every frame after `$welcome` but `$pong`: acks and sequence numbers first, then routing. */
  private onFrame(frame: DecodedFrame, link: Link): void {
    if (frame.kind === 'envelope') {
      const envelope = frame.envelope;
      if (envelope.ack !== undefined) this.onAck(envelope.ack, link);
      if (envelope.seq !== undefined && this.reliable && isSequenced(envelope.type)) {
        const receipt = this.seq.receive(envelope.seq);
        if (receipt === 'gap') {
          // Cannot happen on one TCP stream; resuming makes the server resend from our ack.
          this.options.logger.warn('rxwire: sequence gap, reconnecting to resume', {
            seq: envelope.seq,
            received: this.seq.received,
          });
          link.socket.close();
          return;
        }
        this.scheduleAck(link, envelope.ackSoon === true);
        if (receipt === 'duplicate') return;
      }
    }
    this.inbound.handle(frame, link);
  }

  private onAck(ack: number, link: Link): void {
    if (!this.reliable) return;
    if (!this.acknowledge(ack)) {
      this.inbound.report(
        new RxwireError(ErrorCode.BadEnvelope, `the server acknowledged ${ack}, never sent`),
      );
      return;
    }
    if (this.outbox.size > 0) {
      this.pump(link);
      this.store.update({ queued: this.outbox.size });
    }
  }

  private acknowledge(ack: number): boolean {
    return this.seq.acknowledge(
      ack,
      this.confirms.size === 0 ? undefined : (envelope) => this.settleConfirm(envelope),
    );
  }

  /** Resolves (no error) or rejects the confirmation waiting on `envelope`, if any. */
  private settleConfirm(envelope: Envelope, error?: unknown): void {
    const confirmation = this.confirms.get(envelope);
    if (confirmation === undefined) return;
    if (error === undefined) confirmation.resolve();
    else confirmation.reject(error);
  }

  /**
   * An ack owed to the server goes out on an outgoing frame if there is one,
   * else as a lone `$ack`: within ACK_DELAY_MS of an envelope marked
   * `ackSoon`, within ACK_LAZY_MS of any other, at once after ACK_EVERY. The
   * tick reschedules itself every ACK_LAZY_MS while frames keep arriving (rxjs
   * then reuses its interval), so a busy connection does not create and cancel
   * a timer every few messages; it stops after a quiet period.
   */
  private scheduleAck(link: Link, soon: boolean): void {
    if (this.seq.ackOverdue) {
      this.flushAck(link);
      return;
    }
    this.ackActivity = true;
    const { scheduler } = this.options;
    const delay = soon ? ACK_DELAY_MS : ACK_LAZY_MS;
    if (this.ackTimer !== undefined) {
      if (!soon || this.ackAt <= scheduler.now() + delay) return;
      this.ackTimer.unsubscribe(); // an ackSoon envelope: the lazy tick is too far off
    }
    // rxjs returns the action itself, which the tick reschedules.
    this.ackTimer = scheduler.schedule(() => this.ackTick(link), delay);
    this.ackAt = scheduler.now() + delay;
    this.ackActivity = false;
  }

  private ackTick(link: Link): void {
    this.flushAck(link, false);
    if (this.ackActivity && this.link === link && this.ackTimer !== undefined) {
      this.ackActivity = false;
      (this.ackTimer as SchedulerAction<unknown>).schedule(undefined, ACK_LAZY_MS);
      this.ackAt = this.options.scheduler.now() + ACK_LAZY_MS;
    } else {
      this.ackTimer = undefined;
    }
  }

  /** Sends a lone `$ack` if one is due; `stopTick` also ends the ack tick (an overdue ack, a dropped link). */
  private flushAck(link: Link, stopTick = true): void {
    if (stopTick) {
      this.ackTimer?.unsubscribe();
      this.ackTimer = undefined;
    }
    if (this.link !== link || !this.seq.ackDue) return;
    link.send(
      encodeEnvelope({
        type: Control.Ack,
        id: this.nextId(),
        payload: null,
        timestamp: this.timestamp(),
        ack: this.seq.takeAck(),
      }),
    );
  }

  /** Sends queued envelopes while the server's acks leave room in the window. */
  private pump(link: Link): void {
    while (this.outbox.size > 0 && this.hasRoom()) {
      const envelope = this.outbox.shift()!;
      this.transmit(envelope, link);
    }
  }

  private hasRoom(): boolean {
    return !this.reliable || this.seq.unacked < this.options.maxUnacked;
  }

  /** Numbers (when the server acks) and sends one envelope on `link`. */
  private transmit(envelope: Envelope, link: Link): void {
    if (this.reliable) envelope.seq = this.seq.push(envelope);
    this.write(envelope, link);
    if (envelope.request) this.requests.markSent(envelope.id);
  }

  /** Writes one envelope, with its seq and a fresh ack when one is due. */
  private write(envelope: Envelope, link: Link): void {
    // A resent envelope may carry an older ack; acks are cumulative, so that is harmless.
    if (this.reliable && this.seq.ackDue) envelope.ack = this.seq.takeAck();
    link.send(encodeEnvelope(envelope));
  }

  private onLatency(ms: number): void {
    this.store.update({ latencyMs: ms });
    this.latency.next(ms);
  }

  // ---- inbound ---------------------------------------------------------------

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

  private readonly clock = new IsoClock();

  /** ISO-8601 now (on the scheduler's clock). */
  private timestamp(): string {
    return this.clock.format(this.options.scheduler.now());
  }

  /** Sends on the open socket, or queues. Returns true when it went out now. */
  private submit(envelope: Envelope): boolean {
    const link = this.link;
    if (link !== undefined && this.outbox.size === 0 && this.hasRoom() && link.isOpen()) {
      this.transmit(envelope, link);
      return true;
    }
    this.outbox.push(envelope);
    this.store.update({ queued: this.outbox.size, dropped: this.outbox.dropped });
    return false;
  }

  /**
   * A control frame: `$pong` (answering `replyTo`) goes out on `link` only;
   * `$error` and `$cancel` are sequenced like messages, so they are delivered
   * once across a resume.
   */
  private sendControl(
    type: string,
    payload: unknown,
    replyTo: string | undefined,
    link: Link | undefined = this.link,
  ): void {
    const envelope = this.envelope(type, payload);
    if (replyTo !== undefined) envelope.replyTo = replyTo;
    if (!isSequenced(type)) {
      link?.send(encodeEnvelope(envelope));
      return;
    }
    if (this.reliable || this.session !== undefined) this.submit(envelope);
    else link?.send(encodeEnvelope(envelope));
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

/** Sequenced and sent by the app (a message or request), not a control frame. */
function isSequencedApp(envelope: Envelope): boolean {
  return !isReservedType(envelope.type);
}

function asRxwireError(error: unknown): RxwireError {
  if (error instanceof RxwireError) return error;
  return new RxwireError(ErrorCode.ConnectionClosed, String((error as Error)?.message ?? error), {
    cause: error,
  });
}
