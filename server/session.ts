import type { IncomingMessage } from 'node:http';
import { AsyncSubject, Subject, type Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  ErrorCode,
  RxwireTypeError,
  clampReason,
  isReservedType,
  validatePayload,
  type AnyProtocol,
  type ClientType,
  type Envelope,
  type PayloadOf,
  type Protocol,
  type ServerType,
  Router,
} from '../src/protocol/index.js';
import { SessionAudio } from './audio.js';
import type { SessionAudioStats } from './audio-stats.js';
import { encodeFrame } from './frames.js';
import { RequestStreams, type RequestContext } from './requests.js';

/** How a session ended: the close code and reason the socket reported (1006 when it just dropped). */
export interface SessionClose {
  code: number;
  reason: string;
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
  /** The HTTP upgrade request (headers, remote address). */
  readonly request: IncomingMessage;
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
   * Sends a message to this client. A `$`-prefixed type throws an
   * `RxwireTypeError` (RXWIRE_RESERVED_TYPE); on a closed session it is a no-op.
   */
  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void;
  /** Closes the connection with `code` (default 1000) and `reason` (clamped to 122 bytes). */
  close(code?: number, reason?: string): void;
  /** Emits once, when the socket has closed, then completes. */
  readonly closed$: Observable<SessionClose>;
}

/** What a session needs from the connection that carries it. */
export interface SessionLink extends RequestContext {
  close(code: number, reason: string): void;
  debug(message: string, context?: Record<string, unknown>): void;
}

/** The session core: routing, request streams and lifetime. It never sees a socket. */
export class ServerSession<P extends Protocol = AnyProtocol, U = unknown> implements Session<P, U> {
  readonly messages$: Observable<InboundMessage<P>>;
  readonly audio$: Observable<AudioChunk>;
  readonly closed$: Observable<SessionClose>;
  readonly requests: RequestStreams;
  readonly audioStats$: Observable<SessionAudioStats>;

  private current: SessionState = 'open';
  private readonly all = new Subject<InboundMessage<P>>();
  private readonly routes = new Router<string, unknown>();
  private readonly audio: SessionAudio;
  private readonly closedSubject = new AsyncSubject<SessionClose>();

  constructor(
    readonly id: string,
    readonly user: U,
    readonly request: IncomingMessage,
    private readonly link: SessionLink,
    private readonly knownTypes: ReadonlySet<string> | null,
    maxAudioStreams = 16,
  ) {
    this.messages$ = this.all.asObservable();
    this.audio = new SessionAudio(maxAudioStreams);
    this.audio$ = this.audio.audio$;
    this.audioStats$ = this.audio.stats$;
    this.closed$ = this.closedSubject.asObservable();
    this.requests = new RequestStreams(link, this);
  }

  get state(): SessionState {
    return this.current;
  }

  get audioStats(): SessionAudioStats {
    return this.audio.stats;
  }

  audioStream(streamId: number): Observable<AudioChunk> {
    return this.audio.stream(streamId);
  }

  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>> {
    return this.routes.observe(type) as Observable<PayloadOf<P['client'], K>>;
  }

  send<K extends ServerType<P>>(type: K, payload: PayloadOf<P['server'], K>): void {
    assertSendable(type);
    if (this.current !== 'open') {
      this.link.debug('send on a closed session dropped', { session: this.id, type });
      return;
    }
    this.link.send(encodeFrame(type, this.link.nextId(), payload));
  }

  /** Sends an already encoded frame (broadcast encodes once for everyone). */
  sendEncoded(frame: string): boolean {
    if (this.current !== 'open') return false;
    this.link.send(frame);
    return true;
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
    this.requests.dispose();
    this.link.close(code, clampReason(reason));
  }

  /** Delivers one plain client message: type check, validation, then its subscribers. */
  deliver(envelope: Envelope): void {
    const { type } = envelope;
    if (this.knownTypes !== null && !this.knownTypes.has(type)) {
      this.link.reject(ErrorCode.UnknownType, `unknown message type '${type}'`, envelope.id);
      return;
    }
    const validator = this.link.validators.get(type);
    if (validator) {
      const verdict = validatePayload(validator, envelope.payload);
      if (!verdict.ok) {
        this.link.reject(
          ErrorCode.InvalidPayload,
          `invalid '${type}' payload: ${verdict.message}`,
          envelope.id,
        );
        return;
      }
      if (verdict.value !== envelope.payload) envelope.payload = verdict.value;
    }
    if (this.all.observed) this.all.next(envelope as InboundMessage<P>);
    this.routes.dispatch(type, envelope.payload);
  }

  /**
   * Counts and emits one decoded audio chunk (the seam the audio frame decoder
   * plugs into). Returns why it was refused (too many streams), or null.
   */
  deliverAudio(chunk: AudioChunk): string | null {
    return this.audio.deliver(chunk);
  }

  /** A binary frame was dropped undecoded: the connection is over its audio budget. */
  audioOverLimit(): void {
    this.audio.droppedOverLimit();
  }

  /** A binary frame did not decode (it is answered with `$error` by the caller). */
  audioRejected(): void {
    this.audio.rejectedFrame();
  }

  /** The socket is gone: stop requests, complete every stream, emit `closed$`. Idempotent. */
  end(close: SessionClose): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.requests.dispose();
    this.all.complete();
    this.audio.end();
    this.routes.complete();
    this.closedSubject.next(close);
    this.closedSubject.complete();
  }
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
