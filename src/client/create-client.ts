import { Subject, Subscription, defer, merge, retry, take, timer, type Observable } from 'rxjs';
import {
  ConnectionClosedError,
  Control,
  ErrorCode,
  RxwireError,
  RxwireTypeError,
  clampReason,
  createIdGenerator,
  encodeEnvelope,
  isReservedType,
  type AnyProtocol,
  type CloseInfo,
  type Envelope,
  type Protocol,
} from '../protocol/index.js';
import { connectAttempt, type Link } from './attempt.js';
import { AudioInput, AudioSender, type AudioStats } from './audio-sender.js';
import type { Client, RequestOptions } from './client.js';
import { Reconnection } from './reconnection.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { RequestRegistry } from './requests.js';
import { Inbound } from './inbound.js';
import { StateStore, type ConnectionState, type ConnectionStatus } from './state.js';

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

class RxwireClient<P extends Protocol> implements Client<P> {
  private readonly store: StateStore;
  private readonly inbound: Inbound;
  private readonly latency = new Subject<number>();
  private readonly outbox: Outbox<Envelope>;
  private readonly requests: RequestRegistry;
  private readonly nextId = createIdGenerator();

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

  constructor(private readonly options: ResolvedOptions) {
    this.reconnection = new Reconnection(options);
    this.store = new StateStore({
      status: 'idle',
      attempt: 0,
      maxAttempts: options.reconnect ? options.reconnect.maxAttempts : 1,
      queued: 0,
      dropped: 0,
    });
    this.state$ = this.store.state$;

    this.latency$ = this.latency.asObservable();
    this.outbox = new Outbox<Envelope>(options.queue, (dropped) => {
      options.logger.warn('rxwire: offline queue full, message dropped', {
        type: dropped.type,
        policy: options.queue.overflow,
        dropped: this.outbox.dropped,
      });
      if (dropped.request) this.requests.failDropped(dropped.id, options.queue.limit);
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
    this.audio = new AudioInput((error) =>
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
    this.audio.subscribe((chunk) => this.audioSender.send(chunk, this.link));
    if (options.autoConnect) this.connect();
  }

  get state(): ConnectionState {
    return this.store.value;
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
    this.requests.failAll(new RxwireError(ErrorCode.Disposed, 'the client was disposed'));
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
    this.store.update({
      status: first ? 'connecting' : 'reconnecting',
      attempt,
      retryInMs: undefined,
      retryAt: undefined,
    });
    return connectAttempt(
      this.options,
      {
        welcome: (link, welcome, rtt) => this.onWelcome(link, welcome.sessionId, rtt),
        frame: (frame, link) => this.inbound.handle(frame, link),
        latency: (ms) => this.onLatency(ms),
      },
      this.nextId,
    );
  }

  /** The retry operator's `delay`: a timer to retry after, or a thrown {@link Stop}. */
  private afterFailure(error: unknown): Observable<unknown> {
    const failure = asRxwireError(error);
    const close = failure instanceof ConnectionClosedError ? failure.close : undefined;
    this.dropLink(failure);
    if (this.closing) throw new Stop('disconnected', undefined, close);
    const step = this.reconnection.next(failure, close);
    const { logger, scheduler } = this.options;
    logger.info('rxwire: connection attempt ended', { code: failure.code, close, next: step.kind });
    const lastClose = close ? { lastClose: close } : {};
    switch (step.kind) {
      case 'stop':
        throw new Stop(step.status, step.error, close);
      case 'reauthenticate':
        this.store.update({ error: failure, ...lastClose });
        return timer(0, scheduler);
      case 'retry':
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
    this.store.update({
      status: s.status,
      error: s.error,
      retryInMs: undefined,
      retryAt: undefined,
      ...(s.close ? { lastClose: s.close } : {}),
    });
  }

  private halt(close: CloseInfo | undefined): void {
    this.teardown();
    this.settle(new Stop('disconnected', undefined, close));
  }

  private teardown(): void {
    this.clearClosing();
    this.runner?.unsubscribe();
    this.runner = undefined;
    this.dropLink(new RxwireError(ErrorCode.ConnectionClosed, 'connection closed by the client'));
  }

  private clearClosing(): void {
    this.closing?.unsubscribe();
    this.closing = undefined;
  }

  private dropLink(cause: unknown): void {
    if (!this.link) return;
    this.link = undefined;
    this.requests.failSent(cause);
  }

  private onWelcome(link: Link, sessionId: string, rtt: number): void {
    this.link = link;
    this.reconnection.connected();
    // Flush before announcing `connected`, so a send() made in a state$ callback
    // cannot overtake a message that waited in the queue.
    for (const envelope of this.outbox.drain()) {
      link.send(encodeEnvelope(envelope));
      if (envelope.request) this.requests.markSent(envelope.id);
    }
    this.store.update({
      status: 'connected',
      attempt: 0,
      sessionId,
      latencyMs: rtt,
      queued: 0,
      error: undefined,
      retryInMs: undefined,
      retryAt: undefined,
    });
    this.latency.next(rtt);
    this.options.logger.info('rxwire: connected', { sessionId, rttMs: rtt });
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

  private isoMs = NaN;
  private iso = '';

  /** ISO-8601 now, formatted once per millisecond rather than once per message. */
  private timestamp(): string {
    const now = this.options.scheduler.now();
    if (now !== this.isoMs) {
      this.isoMs = now;
      this.iso = new Date(now).toISOString();
    }
    return this.iso;
  }

  /** Sends on the open socket, or queues. Returns true when it went out now. */
  private submit(envelope: Envelope): boolean {
    if (this.link?.send(encodeEnvelope(envelope))) return true;
    this.outbox.push(envelope);
    this.store.update({ queued: this.outbox.size, dropped: this.outbox.dropped });
    return false;
  }

  private sendControl(
    type: string,
    payload: unknown,
    replyTo: string | undefined,
    link: Link | undefined = this.link,
  ): void {
    const envelope = this.envelope(type, payload);
    if (replyTo !== undefined) envelope.replyTo = replyTo;
    link?.send(encodeEnvelope(envelope));
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

function asRxwireError(error: unknown): RxwireError {
  if (error instanceof RxwireError) return error;
  return new RxwireError(ErrorCode.ConnectionClosed, String((error as Error)?.message ?? error), {
    cause: error,
  });
}
