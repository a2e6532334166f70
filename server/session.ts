import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EMPTY, of, type Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  CloseCode,
  Control,
  ErrorCode,
  QueueFullError,
  RxwireError,
  RxwireTypeError,
  ACK_DELAY_MS,
  Sequencer,
  clampReason,
  isReservedType,
  validatePayload,
  type AnyProtocol,
  type ClientType,
  type Envelope,
  type PayloadOf,
  type Protocol,
  type ServerType,
  type Validator,
  type DeliveryStats,
  Router,
} from '../src/protocol/index.js';
import { Fanout } from '../src/protocol/fanout.js';
import { SessionAudio } from './audio.js';
import type { AudioStreamStats, SessionAudioStats } from './audio-stats.js';
import { ackFrame, errorPayload, frameWithPayload, payloadJson } from './frames.js';
import { LimitedLog } from './logger.js';
import type { ResolvedOptions } from './options.js';
import { RequestStreams, type AnyHandler, type RequestContext } from './requests.js';

/**
 * How a session ended: the close code and reason of its last socket (1006
 * when it just dropped). `expired` is true when the connection dropped and the
 * client did not resume within `recoveryWindow`.
 */
export interface SessionClose {
  code: number;
  reason: string;
  expired?: boolean;
}

/** Delivery counters of one session (see {@link Session.delivery}). */
export interface SessionDelivery extends DeliveryStats {
  /** Bytes of the unacknowledged frames kept for resending. */
  unackedBytes: number;
  /** Client messages received in order (the ack the server gives). */
  received: number;
  /** How many times the client resumed this session. */
  resumes: number;
}

/** The part of the opening HTTP request a session keeps (see {@link Session.request}). */
export interface SessionRequest {
  /** Path and query of the request, e.g. `/ws?room=7`. */
  readonly url: string;
  /**
   * Request headers, lower-cased names (as `IncomingMessage#headers`),
   * without those that only served the WebSocket handshake and mean nothing
   * once it is over: {@link HANDSHAKE_HEADERS} (`connection`, `upgrade`,
   * `sec-websocket-key`, `-version`, `-extensions`). Everything else is kept
   * (`host`, `origin`, `cookie`, `user-agent`, `authorization`, custom ones).
   */
  readonly headers: IncomingMessage['headers'];
  /** The connection's socket: `remoteAddress`, `remotePort`. */
  readonly socket: IncomingMessage['socket'];
}

/**
 * Headers a session does not keep (see {@link SessionRequest.headers}): they
 * belong to the WebSocket upgrade itself, and dropping them saves about 150
 * bytes per idle session.
 */
export const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/** Keeps url, headers (less {@link HANDSHAKE_HEADERS}) and socket of a request, not the request object itself. */
export function sessionRequest(request: IncomingMessage): SessionRequest {
  const all = request.headers;
  const headers: IncomingMessage['headers'] = {};
  for (const name in all) {
    if (!HANDSHAKE_HEADERS.has(name)) headers[name] = all[name];
  }
  return { url: request.url ?? '/', headers, socket: request.socket };
}

/** One plain message from the client, as `messages$` emits it: a union over the client types. */
export type InboundMessage<P extends Protocol = AnyProtocol> = {
  [K in ClientType<P>]: Envelope<K, PayloadOf<P['client'], K>>;
}[ClientType<P>];

/** `'open'` until `close()` is called (`'closing'`) or the socket is gone (`'closed'`). */
export type SessionState = 'open' | 'closing' | 'closed';

/**
 * One authenticated connection. Every stream completes when the session ends.
 *
 * @example
 * ```ts
 * server.sessions$.subscribe((session) => {
 *   session.on('typing').subscribe(({ on }) => session.send('ack', { on }));
 *   session.closed$.subscribe(({ code }) => log.info(`${session.id} left with ${code}`));
 * });
 * ```
 */
export interface Session<P extends Protocol = AnyProtocol, U = unknown> {
  /** Unique id of this session, also sent to the client in `$welcome`. */
  readonly id: string;
  /** What `authenticate` (or the JWT's claims) said this connection is. */
  readonly user: U;
  /**
   * What the session keeps of the HTTP request that opened it: url, headers
   * and the socket (remote address). The full `IncomingMessage` goes to
   * `authenticate`; a session does not hold on to it, to stay small.
   */
  readonly request: SessionRequest;
  /**
   * What carries the session now: `'websocket'`, or `'http'` for a client on
   * the HTTP fallback transport (server option `fallback`). It changes when the
   * client resumes the session over the other transport; while the session
   * waits for a resume it keeps the last one.
   */
  readonly transport: 'websocket' | 'http';
  readonly state: SessionState;
  /** Every plain (non-request) message the client sends, as envelopes. */
  readonly messages$: Observable<InboundMessage<P>>;
  /** Payloads of one client message type. */
  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>>;
  /**
   * Audio chunks decoded from the client's binary frames, every stream, in
   * arrival order (late and duplicate frames included: see `audioStats`).
   * Hot: chunks that arrive while nobody subscribes are not kept. Completes with the session.
   *
   * Each chunk's `samples` are its own copy, but like a small Node `Buffer`
   * they live in a shared pool: `samples.buffer` is larger than the samples,
   * so read them through `samples` itself (or `byteOffset`/`byteLength`),
   * e.g. `Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)`.
   *
   * @example
   * ```ts
   * session.audio$.subscribe(({ streamId, seq, samples }) => recorder.write(streamId, seq, samples));
   * ```
   */
  readonly audio$: Observable<AudioChunk>;
  /**
   * The chunks of one audio stream (frames whose header carries `streamId`),
   * in arrival order. Hot like `audio$`; completes with the session (the wire
   * has no end-of-stream marker: end a stream with your own message and `takeUntil`).
   * A `streamId` that is not a u32 throws an `RxwireTypeError` (RXWIRE_INVALID_OPTION).
   *
   * @example
   * ```ts
   * session.audioStream(1).pipe(takeUntil(session.on('hangup'))).subscribe(transcriber);
   * ```
   */
  audioStream(streamId: number): Observable<AudioChunk>;
  /**
   * Audio statistics: the current value at once, then a new one after every
   * audio frame (and every dropped or rejected binary frame). Completes with
   * the session. Snapshots are immutable. A snapshot is only built while
   * someone subscribes (about 1 µs a frame, against 5-9 µs to receive and
   * decode a 20 ms frame); for a display, `auditTime(250)` is plenty.
   *
   * @example
   * ```ts
   * session.audioStats$
   *   .pipe(map((s) => s.streams.get(1)?.lost ?? 0), distinctUntilChanged())
   *   .subscribe((lost) => metrics.gauge('audio.lost', lost));
   * ```
   */
  readonly audioStats$: Observable<SessionAudioStats>;
  /**
   * The current audio statistics, synchronously: per stream received, lost,
   * reordered, duplicates, stale, first and last sequence numbers; and the
   * session's frames dropped over the audio rate limit and rejected. Stays
   * readable after the session ends.
   *
   * @example
   * ```ts
   * session.closed$.subscribe(() => log.info('audio', session.audioStats.streams.get(0)));
   * ```
   */
  readonly audioStats: SessionAudioStats;
  /**
   * Sends a message to this client: delivered exactly once and in order,
   * also across a dropped connection the client resumes (while it is away the
   * message waits). A `$`-prefixed type throws an `RxwireTypeError`
   * (RXWIRE_RESERVED_TYPE); over `maxUnacked` it throws `QueueFullError`; on
   * a closed session it is a no-op.
   */
  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void;
  /**
   * Like `send`, and resolves once the client acknowledges the message (it
   * was delivered to the client app). Rejects with RXWIRE_SESSION_LOST when
   * the session ends first, RXWIRE_CONFIRM_TIMEOUT after `timeout` ms, or
   * `QueueFullError` when over `maxUnacked`.
   *
   * @example
   * ```ts
   * await session.sendConfirmed('invoice', { id: 42 }, { timeout: 10_000 });
   * ```
   */
  sendConfirmed<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    options?: { /** @default none */ timeout?: number },
  ): Promise<void>;
  /**
   * True while a connection carries the session; false while it waits for
   * the client to resume (sends are kept and delivered on resume) and after it ended.
   */
  readonly connected: boolean;
  /**
   * `connected` as a stream: the current value at once, then every change
   * (false when the connection drops, true when the client resumes).
   * Completes when the session ends.
   *
   * @example
   * ```ts
   * session.connected$.subscribe((up) => presence.set(session.id, up ? 'online' : 'away'));
   * ```
   */
  readonly connected$: Observable<boolean>;
  /**
   * Delivery counters: unacknowledged messages (and their bytes), resends,
   * duplicate client messages dropped, messages received, resumes.
   *
   * @example
   * ```ts
   * metrics.gauge('rxwire.unacked', session.delivery.unacked);
   * ```
   */
  readonly delivery: SessionDelivery;
  /** Closes the connection with `code` (default 1000) and `reason` (clamped to 122 bytes). The session ends; it cannot be resumed. */
  close(code?: number, reason?: string): void;
  /** Emits once, when the socket has closed, then completes. */
  readonly closed$: Observable<SessionClose>;
}

/** What a session needs from the connection that carries it. */
export interface SessionLink {
  /** Sends a frame if the socket is open. */
  send(text: string): void;
  /** Closes the socket from the server side. */
  close(code: number, reason: string): void;
  /** Logs a rejected client frame (rate-limited per connection). */
  report(message: string, context: Record<string, unknown>): void;
  /** What carries the link. @default 'websocket' */
  readonly transport?: 'websocket' | 'http';
}

/** What a session needs from the server. */
export interface SessionHost {
  readonly options: ResolvedOptions;
  readonly handlers: ReadonlyMap<string, AnyHandler>;
  readonly nextId: () => string;
  /** The session ended for good: forget it. */
  ended(session: ServerSession<never, unknown>): void;
}

/** The audio stats of a session that never received audio. */
const NO_AUDIO: SessionAudioStats = Object.freeze({
  streams: new Map<number, AudioStreamStats>() as ReadonlyMap<number, AudioStreamStats>,
  overLimit: 0,
  rejected: 0,
});

/**
 * Key of the resume tokens of this process: a session's token is an HMAC of
 * its id, so it is computed when needed and never stored. Sessions live in
 * memory only, so a key per process is enough.
 */
const RESUME_KEY = randomBytes(32);

/**
 * The session core: routing, request streams, delivery and lifetime. It never sees a socket.
 *
 * Memory: an idle session is kept small, because a server holds many. Every
 * stream, the router, the sequencer and the audio state are made on first
 * use, and the streams are {@link Fanout}s (a subscriber costs rxjs's own
 * objects and nothing more); the resume token is derived, not stored.
 */
export class ServerSession<P extends Protocol = AnyProtocol, U = unknown>
  implements Session<P, U>, RequestContext
{
  private current: SessionState = 'open';
  private link: SessionLink | null;
  private routes: Router<string, unknown> | undefined;
  /** Sequencing and acks: made on the first message either way. */
  private seqState: Delivery | undefined;
  // Made on first use, so an idle session costs little memory (most never
  // touch audio, requests, messages$ or connected$).
  private all: Fanout<InboundMessage<P>> | undefined;
  private audioAll: Fanout<AudioChunk> | undefined;
  private closedHub: Fanout<SessionClose> | undefined;
  private rare: RareState | undefined;

  constructor(
    readonly id: string,
    readonly user: U,
    readonly request: SessionRequest,
    link: SessionLink,
    private readonly host: SessionHost,
  ) {
    this.link = link;
  }

  /**
   * Proves a resuming connection is this session's client: 32 base64url
   * characters, an HMAC of the session id under a key of this process.
   */
  get resumeToken(): string {
    return createHmac('sha256', RESUME_KEY)
      .update(this.id)
      .digest()
      .subarray(0, 24)
      .toString('base64url');
  }

  get messages$(): Observable<InboundMessage<P>> {
    if (this.all !== undefined) return this.all;
    if (this.current === 'closed') return EMPTY;
    return (this.all = new Fanout<InboundMessage<P>>());
  }

  get closed$(): Observable<SessionClose> {
    const ending = this.rare?.ending;
    if (ending !== undefined) return of(ending);
    return (this.closedHub ??= new Fanout<SessionClose>());
  }

  get connected$(): Observable<boolean> {
    const existing = this.rare?.connected;
    if (existing !== undefined) return existing;
    if (this.current === 'closed') return of(false);
    return (this.rareState.connected = Fanout.current(this.connected));
  }

  get audio$(): Observable<AudioChunk> {
    if (this.audioAll !== undefined) return this.audioAll;
    if (this.current === 'closed') return EMPTY;
    return (this.audioAll = new Fanout<AudioChunk>());
  }

  get audioStats$(): Observable<SessionAudioStats> {
    return this.audio.stats$;
  }

  /** The request streams of this session. */
  get requests(): RequestStreams {
    return (this.rareState.requests ??= new RequestStreams(this, this));
  }

  private get rareState(): RareState {
    return (this.rare ??= new RareState());
  }

  private get seq(): Delivery {
    return (this.seqState ??= new Delivery());
  }

  private get audio(): SessionAudio {
    const rare = this.rareState;
    if (rare.audio === undefined) {
      rare.audio = new SessionAudio(this.host.options.maxAudioStreams);
      if (this.current === 'closed') rare.audio.end();
    }
    return rare.audio;
  }

  get state(): SessionState {
    return this.current;
  }

  get transport(): 'websocket' | 'http' {
    const link = this.link;
    if (link !== null) return link.transport ?? 'websocket';
    return this.rare?.lastTransport ?? 'websocket';
  }

  get connected(): boolean {
    return this.link !== null && this.current !== 'closed';
  }

  get delivery(): SessionDelivery {
    return {
      ...(this.seqState?.stats() ?? { unacked: 0, resent: 0, duplicates: 0 }),
      unackedBytes: this.seqState?.unackedBytes ?? 0,
      received: this.received,
      resumes: this.rare?.resumes ?? 0,
    };
  }

  /** Client messages received in order: the ack this server gives. */
  get received(): number {
    return this.seqState?.received ?? 0;
  }

  get audioStats(): SessionAudioStats {
    return this.rare?.audio?.stats ?? NO_AUDIO;
  }

  get handlers(): ReadonlyMap<string, AnyHandler> {
    return this.host.handlers;
  }

  get validators(): ReadonlyMap<string, Validator> {
    return this.host.options.validators;
  }

  audioStream(streamId: number): Observable<AudioChunk> {
    return this.audio.stream(streamId);
  }

  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>> {
    if (this.routes === undefined) {
      if (this.current === 'closed') return EMPTY;
      this.routes = new Router<string, unknown>();
    }
    return this.routes.observe(type) as Observable<PayloadOf<P['client'], K>>;
  }

  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void {
    assertSendable(type);
    if (this.current !== 'open') {
      this.host.options.logger.debug('send on a closed session dropped', {
        session: this.id,
        type,
      });
      return;
    }
    this.emit(type, payloadJson(payload), undefined, false);
  }

  sendConfirmed<K extends ServerType<P>>(
    type: K,
    payload: PayloadOf<P['server'], K>,
    options: { timeout?: number } = {},
  ): Promise<void> {
    assertSendable(type);
    if (this.current !== 'open') {
      return Promise.reject(new RxwireError(ErrorCode.SessionLost, 'the session is closed'));
    }
    const json = payloadJson(payload);
    const confirmations = (this.rareState.confirmations ??= new Set());
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fail = (error: RxwireError): void => {
        confirmations.delete(fail);
        if (timer !== undefined) clearTimeout(timer);
        reject(error);
      };
      confirmations.add(fail);
      if (options.timeout !== undefined) {
        timer = setTimeout(
          () =>
            fail(
              new RxwireError(
                ErrorCode.ConfirmTimeout,
                `'${type}' was not acknowledged within ${options.timeout} ms`,
              ),
            ),
          options.timeout,
        );
      }
      try {
        this.emit(type, json, undefined, false, () => {
          if (!confirmations.delete(fail)) return;
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        });
      } catch (error) {
        fail(error as RxwireError);
      }
    });
  }

  /**
   * Sends one sequenced frame (kept until acknowledged, sent now when
   * connected). Over `maxUnacked` it throws `QueueFullError`, unless `force`
   * (the one frame that ends a request stream may exceed it).
   */
  emit(
    type: string,
    json: string,
    replyTo: string | undefined,
    force: boolean,
    onAck?: () => void,
  ): void {
    const { maxUnacked } = this.host.options;
    const seq = this.seq;
    const { unacked, unackedBytes } = seq;
    if (unacked >= maxUnacked.messages || unackedBytes >= maxUnacked.bytes) {
      if (!force) {
        throw new QueueFullError(
          maxUnacked.messages,
          `session ${this.id} has ${unacked} unacknowledged messages (${unackedBytes} bytes): over maxUnacked, '${type}' not sent`,
        );
      }
      // `$error`s and the ends of requests may exceed the bound, so that every
      // request ends; a client that keeps causing them without acknowledging
      // would grow the buffer forever. Past twice the bound the session ends.
      if (unacked >= 2 * maxUnacked.messages || unackedBytes >= 2 * maxUnacked.bytes) {
        this.host.options.logger.warn('client does not acknowledge, closing', {
          session: this.id,
          unacked,
          unackedBytes,
        });
        this.close(CloseCode.TooManyRequests, 'too many unacknowledged messages');
        return;
      }
    }
    const link = this.link;
    const ack = link !== null && seq.ackDue ? seq.received : undefined;
    const frame = frameWithPayload(type, this.host.nextId(), json, replyTo, seq.nextSeq, ack);
    seq.push(frame, onAck);
    seq.unackedBytes += frame.length;
    if (link !== null) {
      if (ack !== undefined) seq.takeAck();
      link.send(frame);
    }
  }

  /** Sends an encoded payload (broadcast encodes it once). Returns false when closed or full. */
  sendJson(type: string, json: string): boolean {
    if (this.current !== 'open') return false;
    try {
      this.emit(type, json, undefined, false);
      return true;
    } catch {
      return false;
    }
  }

  // --- RequestContext ------------------------------------------------------

  reject(code: string, message: string, replyTo?: string): void {
    this.link?.report(`rejected frame: ${message}`, { code });
    if (this.current === 'closed') return;
    this.emit(Control.Error, payloadJson(errorPayload(code, message, replyTo)), replyTo, true);
  }

  handlerFailed(type: string, requestId: string, error: unknown): void {
    const rare = this.rareState;
    rare.failures ??= new LimitedLog(
      this.host.options.logger,
      { session: this.id },
      'handler failures',
    );
    rare.failures.report(`request handler '${type}' failed`, {
      request: requestId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }

  // --- delivery ------------------------------------------------------------

  /** Applies the client's cumulative ack. False when it acknowledges something never sent. */
  acknowledged(ack: number): boolean {
    const seq = this.seqState;
    if (seq === undefined) return ack <= 0; // nothing was ever sent
    return seq.acknowledge(ack, (frame) => {
      seq.unackedBytes -= frame.length;
    });
  }

  /**
   * Admits one sequenced client envelope: true to deliver it, false for a
   * repeat (dropped) or a gap (the connection is closed 4400).
   */
  admit(seq: number): boolean {
    const delivery = this.seq;
    const receipt = delivery.receive(seq);
    if (receipt === 'gap') {
      this.link?.close(CloseCode.BadRequest, `sequence gap: got ${seq} after ${delivery.received}`);
      return false;
    }
    if (delivery.ackOverdue) this.flushAck();
    else {
      delivery.ackActivity = true;
      if (delivery.ackTimer === undefined) this.startAckTick(delivery);
    }
    return receipt === 'deliver';
  }

  private flushAck(): void {
    const seq = this.seqState;
    if (seq === undefined) return;
    seq.stopAckTimer();
    this.sendDueAck(seq);
  }

  private sendDueAck(seq: Delivery): void {
    if (this.link !== null && seq.ackDue) {
      this.link.send(ackFrame(this.host.nextId(), seq.takeAck()));
    }
  }

  /**
   * An ack owed to the client goes out within ACK_DELAY_MS: on an outgoing
   * frame if there is one, else as a lone `$ack` from a tick that runs every
   * ACK_DELAY_MS while client frames keep arriving. The tick re-arms its one
   * Timeout (`refresh()`) instead of making a timer every few messages, and
   * is dropped after a quiet period, so an idle session holds no timer.
   */
  private startAckTick(seq: Delivery): void {
    const timer = setTimeout(() => {
      this.sendDueAck(seq);
      if (seq.ackActivity && this.link !== null && seq.ackTimer === timer) {
        seq.ackActivity = false;
        timer.refresh();
      } else if (seq.ackTimer === timer) {
        seq.ackTimer = undefined;
      }
    }, ACK_DELAY_MS);
    timer.unref?.();
    seq.ackTimer = timer;
    seq.ackActivity = false;
  }

  /**
   * True when `token` is this session's resume token and `user` is the same
   * user, by `userKey` (computed now for both users: a session keeps its user,
   * not the key).
   */
  mayResume(token: string, user: unknown): boolean {
    const a = Buffer.from(token);
    const b = Buffer.from(this.resumeToken);
    const tokenOk = a.length === b.length && timingSafeEqual(a, b);
    const { userKey } = this.host.options;
    return tokenOk && userKey(user) === userKey(this.user);
  }

  /**
   * Moves the session onto a resuming connection: the old one (if still up)
   * is closed 4409; the caller sends `$welcome`, then {@link resend}.
   */
  attach(link: SessionLink): void {
    const old = this.link;
    this.link = link;
    const rare = this.rareState;
    rare.resumes++;
    if (rare.expiry !== undefined) {
      clearTimeout(rare.expiry);
      rare.expiry = undefined;
    }
    old?.close(CloseCode.DuplicateSession, 'the session was resumed on another connection');
    if (this.seqState !== undefined) this.seqState.ackSent = this.seqState.received; // $welcome carries it
    if (old === null) rare.connected?.next(true);
  }

  /** Resends, in order, everything the client has not acknowledged. */
  resend(): void {
    const link = this.link;
    const seq = this.seqState;
    if (link === null || seq === undefined) return;
    const pending = seq.pending();
    seq.resent += pending.length;
    for (const entry of pending) link.send(entry.value);
  }

  /**
   * The connection carrying this session is gone. A `final` close (the
   * client said goodbye, the server closed it, no recovery window) ends the
   * session; otherwise it waits `recoveryWindow` for the client to resume.
   */
  detach(link: SessionLink, close: SessionClose, final: boolean): void {
    if (this.link !== link || this.current === 'closed') return;
    this.link = null;
    this.rareState.lastTransport = link.transport ?? 'websocket';
    this.rare?.connected?.next(false);
    this.seqState?.stopAckTimer();
    const window = this.host.options.recoveryWindow;
    if (final || window === 0 || this.current === 'closing') {
      this.end(close);
      return;
    }
    this.host.options.logger.debug('session detached, waiting for a resume', {
      session: this.id,
      code: close.code,
    });
    this.rareState.expiry = unref(
      setTimeout(
        () =>
          this.end({
            code: close.code,
            reason: `not resumed within the recovery window (${window} ms)`,
            expired: true,
          }),
        window,
      ),
    );
  }

  close(code = 1000, reason = ''): void {
    if (!isValidCloseCode(code)) {
      throw new RxwireTypeError(
        ErrorCode.InvalidOption,
        `close code ${String(code)} is not valid (use 1000, 1001, 1008, 1011-1013 or 3000-4999)`,
      );
    }
    if (this.current !== 'open') return;
    this.current = 'closing';
    this.rare?.requests?.dispose();
    const link = this.link;
    if (link !== null) link.close(code, clampReason(reason));
    else this.end({ code, reason: clampReason(reason) });
  }

  /** Delivers one plain client message: type check, validation, then its subscribers. */
  deliver(envelope: Envelope): void {
    const { type } = envelope;
    const { knownTypes } = this.host.options;
    if (knownTypes !== null && !knownTypes.has(type)) {
      this.reject(ErrorCode.UnknownType, `unknown message type '${type}'`, envelope.id);
      return;
    }
    const validator = this.host.options.validators.get(type);
    if (validator) {
      const verdict = validatePayload(validator, envelope.payload);
      if (!verdict.ok) {
        this.reject(
          ErrorCode.InvalidPayload,
          `invalid '${type}' payload: ${verdict.message}`,
          envelope.id,
        );
        return;
      }
      if (verdict.value !== envelope.payload) envelope.payload = verdict.value;
    }
    if (this.all?.observed) this.all.next(envelope as InboundMessage<P>);
    this.routes?.dispatch(type, envelope.payload);
  }

  /**
   * Counts and emits one decoded audio chunk (the seam the audio frame decoder
   * plugs into). Returns why it was refused (too many streams), or null.
   */
  deliverAudio(chunk: AudioChunk): string | null {
    return this.audio.deliver(chunk, this.audioAll);
  }

  /** A binary frame was dropped undecoded: the connection is over its audio budget. */
  audioOverLimit(): void {
    this.audio.droppedOverLimit();
  }

  /** A binary frame did not decode (it is answered with `$error` by the caller). */
  audioRejected(): void {
    this.audio.rejectedFrame();
  }

  /** The session is over: stop requests, complete every stream, emit `closed$`. Idempotent. */
  end(close: SessionClose): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    const rare = this.rareState;
    if (this.link !== null) rare.lastTransport = this.link.transport ?? 'websocket';
    this.link = null;
    this.seqState?.stopAckTimer();
    if (rare.expiry !== undefined) clearTimeout(rare.expiry);
    rare.expiry = undefined;
    rare.ending = close;
    rare.requests?.dispose();
    if (rare.confirmations !== undefined) {
      const lost = new RxwireError(
        ErrorCode.SessionLost,
        `the session ended (${close.code}) before the client acknowledged the message`,
      );
      for (const fail of [...rare.confirmations]) fail(lost);
    }
    rare.failures?.flush();
    this.host.ended(this as unknown as ServerSession<never, unknown>);
    this.all?.end();
    this.audioAll?.end();
    rare.audio?.end();
    this.routes?.complete();
    const connected = rare.connected;
    if (connected?.current === true) connected.next(false);
    connected?.end();
    this.closedHub?.end({ value: close });
  }
}

/**
 * The parts of a session only some sessions ever need (resumes, confirmed
 * sends, request streams, audio beyond `audio$`, `connected$`) or need only
 * once their connection is gone, in one object made on first use, so that an
 * idle session does not carry their fields.
 */
class RareState {
  /** How the session ended, once it has. */
  ending: SessionClose | undefined = undefined;
  /** What carried the session last, once no connection does. */
  lastTransport: 'websocket' | 'http' | undefined = undefined;
  resumes = 0;
  expiry: ReturnType<typeof setTimeout> | undefined = undefined;
  confirmations: Set<(error: RxwireError) => void> | undefined = undefined;
  failures: LimitedLog | undefined = undefined;
  requests: RequestStreams | undefined = undefined;
  audio: SessionAudio | undefined = undefined;
  connected: Fanout<boolean> | undefined = undefined;
}

/** A session's delivery state: the shared {@link Sequencer} plus what the server adds to it. */
class Delivery extends Sequencer<string> {
  /** Bytes of the frames kept for resending. */
  unackedBytes = 0;
  /** Sends a standalone `$ack` when no outgoing frame carried one in time. */
  ackTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** A client frame arrived since the ack tick last ran. */
  ackActivity = false;

  stopAckTimer(): void {
    if (this.ackTimer !== undefined) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }
}

function unref<T extends ReturnType<typeof setTimeout>>(timer: T): T {
  timer.unref?.();
  return timer;
}

/** `send`/`broadcast` refuse reserved and empty type names. */
export function assertSendable(type: string): void {
  if (typeof type !== 'string' || type.length === 0 || isReservedType(type)) {
    throw new RxwireTypeError(
      ErrorCode.ReservedType,
      `cannot send type '${String(type)}': types starting with '$' are reserved for the protocol`,
    );
  }
}

/** Close codes an application may send (the same rule ws applies). */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}
