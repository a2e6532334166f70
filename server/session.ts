// The session itself: its identity, delivering a client's messages to the
// app (type check, validation, subscribers), request streams, its token, and
// the end of the session. Sending and the per-message delivery state live in
// session-delivery.ts (over delivery.ts), the streams it exposes in
// session-streams.ts, the connection that carries it in session-link.ts, the
// move to another node in handover.ts.
import type { Observable } from 'rxjs';
import type { AudioChunk } from '../src/audio/types.js';
import {
  Control,
  ErrorCode,
  RxwireError,
  RxwireTypeError,
  clampReason,
  validatePayload,
  type AnyProtocol,
  type ClientType,
  type Envelope,
  type PayloadOf,
  type Protocol,
  type Validator,
} from '../src/protocol/index.js';
import type { SessionAudioStats } from './audio-stats.js';
import { contained } from './contain.js';
import { TokenLifetime, type TokenHost, type TokenSession } from './token-lifetime.js';
import { Delivery } from './delivery.js';
import { errorPayload, payloadJson } from './frames.js';
import { LimitedLog } from './logger.js';
import { userKeyOf, type ResolvedOptions } from './resolve-options.js';
import { RequestStreams, type AnyHandler, type RequestContext } from './requests.js';
import { DeliveringSession, type DeliveryHost } from './session-delivery.js';
import { resumeToken, verifyResumeToken, type SessionLink } from './session-link.js';
import { SessionStreams } from './session-streams.js';
import type { InboundMessage, Session, SessionClose, SessionRequest } from './session-types.js';

export {
  HANDSHAKE_HEADERS,
  sessionRequest,
  type InboundMessage,
  type Session,
  type SessionClose,
  type SessionDelivery,
  type SessionRequest,
  type SessionState,
} from './session-types.js';
export type { SessionLink } from './session-link.js';
export { assertSendable } from './session-delivery.js';

/** What a session needs from the server. */
export interface SessionHost extends DeliveryHost {
  readonly handlers: ReadonlyMap<string, AnyHandler>;
  /** This server's node id (`server.nodeId`). */
  readonly nodeId: string;
  /**
   * The key of resume tokens: a token is an HMAC of the session id under it,
   * so it is computed when needed and never stored. One server's sessions
   * share it; a cluster's nodes derive the same key from the shared secret.
   */
  readonly resumeKey: Uint8Array;
  /** The session's connection came or went (`connected` changed). */
  connectionChanged(session: ServerSession<never, unknown>): void;
  /** The session ended for good (or moved away): forget it. */
  ended(session: ServerSession<never, unknown>, close: SessionClose): void;
}

/** What a session rebuilt from a record (handover.ts) starts with. */
export interface RestoredState {
  delivery: Delivery;
  resumes: number;
  /** The node it moved from. */
  movedFrom: string;
  /** When the session started, on its first node (ms since the epoch). */
  createdAt: number | undefined;
}

/**
 * The session core: sending, delivery, request streams and lifetime. It never sees a socket.
 *
 * Memory: an idle session is kept small, because a server holds many. The
 * streams, the delivery state and the rarely needed parts are made on first
 * use; the resume token is derived, not stored.
 */
export class ServerSession<P extends Protocol = AnyProtocol, U = unknown>
  extends DeliveringSession<P>
  implements Session<P, U>, RequestContext, TokenSession
{
  private streams: SessionStreams<P> | undefined = undefined;
  /** When the session started (on its first node), in ms since the epoch: revocation compares it. */
  readonly createdAt: number;
  /** The node this session moved in from (a clustered server), else undefined. */
  readonly movedFrom: string | undefined;

  constructor(
    readonly id: string,
    /** The authenticated user; a token refresh (same `userKey`) may bring fresher claims. */
    public user: U,
    readonly request: SessionRequest,
    link: SessionLink | null,
    protected override readonly host: SessionHost,
    restored?: RestoredState,
  ) {
    super(link, host, restored?.delivery);
    this.movedFrom = restored?.movedFrom;
    this.createdAt = restored?.createdAt ?? Date.now();
    if (restored !== undefined) this.rareState.resumes = restored.resumes;
  }

  get nodeId(): string {
    return this.host.nodeId;
  }

  get remote(): false {
    return false;
  }

  /**
   * Proves a resuming connection is this session's client: 32 base64url
   * characters, an HMAC of the session id under the server's resume key.
   */
  get resumeToken(): string {
    return resumeToken(this.host.resumeKey, this.id);
  }

  // --- streams (session-streams.ts) ----------------------------------------

  get messages$(): Observable<InboundMessage<P>> {
    return this.streamState.messages$;
  }

  on<K extends ClientType<P>>(type: K): Observable<PayloadOf<P['client'], K>> {
    return this.streamState.on(type);
  }

  get closed$(): Observable<SessionClose> {
    return this.streamState.closed$;
  }

  get connected$(): Observable<boolean> {
    return this.streamState.connected$(this.connected);
  }

  get audio$(): Observable<AudioChunk> {
    return this.streamState.audio$;
  }

  get audioStats$(): Observable<SessionAudioStats> {
    return this.streamState.audioStats$;
  }

  get audioStats(): SessionAudioStats {
    return this.streamState.audioStats;
  }

  audioStream(streamId: number): Observable<AudioChunk> {
    return this.streamState.audioStream(streamId);
  }

  /**
   * Counts and emits one decoded audio chunk (the seam the audio frame decoder
   * plugs into). Returns why it was refused (too many streams), or null.
   */
  deliverAudio(chunk: AudioChunk): string | null {
    return contained(this, '$audio', undefined, deliverAudioTo, this.streamState, chunk);
  }

  /** A binary frame was dropped undecoded: the connection is over its audio budget. */
  audioOverLimit(): void {
    this.streamState.audioOverLimit();
  }

  /** A binary frame did not decode (it is answered with `$error` by the caller). */
  audioRejected(): void {
    this.streamState.audioRejected();
  }

  private get streamState(): SessionStreams<P> {
    if (this.streams === undefined) {
      this.streams = new SessionStreams<P>(this.host.options.maxAudioStreams);
      // Observed only after the end (closed$ then replays it, the others complete).
      const ending = this.rare?.ending;
      if (ending !== undefined) this.streams.end(ending);
    }
    return this.streams;
  }

  protected linkChanged(up: boolean): void {
    const streams = this.streams;
    if (streams !== undefined) contained(this, '$connected', undefined, connectedTo, streams, up);
    this.host.connectionChanged(this as unknown as ServerSession<never, unknown>);
  }

  // --- identity and counters -----------------------------------------------

  get handlers(): ReadonlyMap<string, AnyHandler> {
    return this.host.handlers;
  }

  get validators(): ReadonlyMap<string, Validator> {
    return this.host.options.validators;
  }

  /** The request streams of this session. */
  get requests(): RequestStreams {
    return (this.rareState.requests ??= new RequestStreams(this, this));
  }

  /** Ends every request stream in flight with a sequenced `$error` (see handover.ts). */
  endRequests(code: string, message: string): void {
    this.rare?.requests?.endAll(code, message);
  }

  /** Resolves once no request stream runs, or after `timeoutMs` (a drain waits for this). */
  requestsIdle(timeoutMs: number): Promise<void> {
    const requests = this.rare?.requests;
    return requests === undefined ? Promise.resolve() : requests.idle(timeoutMs);
  }

  protected get linkOptions(): ResolvedOptions {
    return this.host.options;
  }

  /** `userKey(user)`: who may resume this session (see the `userKey` option). */
  get userKey(): string {
    return userKeyOf(this.host.options, this.user);
  }

  /** What a record of this session holds beyond its identity (see handover.ts). */
  handoverState(): { delivery: Delivery | undefined; resumes: number } {
    return { delivery: this.seqState, resumes: this.rare?.resumes ?? 0 };
  }

  /**
   * True when `token` is this session's resume token and `user` is the same
   * user, by `userKey` (computed now for both users: a session keeps its user,
   * not the key).
   */
  mayResume(token: string, user: unknown): boolean {
    return (
      verifyResumeToken(this.host.resumeKey, this.id, token) &&
      userKeyOf(this.host.options, user) === this.userKey
    );
  }

  // --- token lifetime (token-lifetime.ts) ----------------------------------

  /** When the session's token expires, in ms since the epoch; undefined when it does not. */
  get expiresAt(): number | undefined {
    return this.rare?.tokens?.expiresAt;
  }

  /** A token was accepted for this session (at `$hello` or a resume): its expiry bounds the session. */
  tokenAccepted(expiresAt: number | undefined, host: TokenHost): void {
    const existing = this.rare?.tokens;
    if (existing === undefined && expiresAt === undefined) return;
    const tokens = existing ?? (this.rareState.tokens = new TokenLifetime(this, host));
    tokens.set(expiresAt);
  }

  /** `$auth` from the client: a fresh token, in band. */
  tokenFrame(
    envelope: Envelope,
    host: TokenHost,
    reject: (code: string, message: string) => void,
  ): void {
    const tokens = (this.rareState.tokens ??= new TokenLifetime(this, host));
    tokens.receive(envelope, reject);
  }

  /** The user of a fresher token (same `userKey`, checked by the caller). */
  renew(user: unknown): void {
    this.user = user as U;
  }

  /** Sends an unsequenced control frame on the current connection (`$refresh`). */
  sendNow(frame: string): void {
    this.link?.send(frame);
  }

  /** Closes the current connection; `resumable` keeps the session for a resume. */
  closeLink(code: number, reason: string, resumable: boolean): void {
    this.link?.close(code, reason, resumable);
  }

  // --- RequestContext ------------------------------------------------------

  reject(code: string, message: string, replyTo?: string): void {
    this.link?.report(`rejected frame: ${message}`, { code });
    if (this.current === 'closed') return;
    this.emit(Control.Error, payloadJson(errorPayload(code, message, replyTo)), replyTo, true);
  }

  /** Handler and subscriber failures, logged at most once per interval. */
  private get failures(): LimitedLog {
    return (this.rareState.failures ??= new LimitedLog(
      this.host.options.logger,
      { session: this.id },
      'handler failures',
    ));
  }

  handlerFailed(type: string, requestId: string, error: unknown): void {
    this.failures.report(`request handler '${type}' failed`, {
      request: requestId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
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
    const streams = this.streams;
    if (streams !== undefined) contained(this, type, envelope.id, dispatchTo, streams, envelope);
  }

  /**
   * An app subscriber threw while this session's message of `type` was
   * handed to it (see contain.ts): logged with the session id and the type,
   * and the peer gets `$error` RXWIRE_HANDLER_ERROR (without the error's
   * text, which may hold server internals). The session goes on.
   */
  subscriberFailed(type: string, id: string | undefined, error: unknown): void {
    this.failures.report(`a subscriber of '${type}' threw`, {
      type,
      message: id,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    // Only what the peer sent is answered: a message, or an audio frame ('$audio').
    if (this.current === 'closed' || (type.startsWith('$') && type !== '$audio')) return;
    this.emit(
      Control.Error,
      payloadJson(
        errorPayload(
          ErrorCode.HandlerError,
          type === '$audio'
            ? 'the server failed to handle an audio frame (an application subscriber threw)'
            : `the server failed to handle '${type}' (an application subscriber threw)`,
          id,
        ),
      ),
      id,
      true,
    );
  }

  // --- the end -------------------------------------------------------------

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

  /** The session is over: stop requests, complete every stream, emit `closed$`. Idempotent. */
  end(close: SessionClose): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    const rare = this.rareState;
    rare.ending = close;
    if (this.link !== null) rare.lastTransport = this.link.transport ?? 'websocket';
    this.link = null;
    this.seqState?.stopAckTimer();
    this.stopExpiry();
    rare.tokens?.stop();
    rare.requests?.dispose();
    this.failConfirmations(
      new RxwireError(
        ErrorCode.SessionLost,
        `the session ended (${close.code}) before the client acknowledged the message`,
      ),
    );
    rare.failures?.flush();
    this.host.ended(this as unknown as ServerSession<never, unknown>, close);
    // A session nobody observed has no streams to end.
    const streams = this.streams;
    if (streams !== undefined) contained(this, '$closed', undefined, endStreams, streams, close);
  }
}

function dispatchTo<P extends Protocol>(streams: SessionStreams<P>, envelope: Envelope): void {
  streams.dispatch(envelope);
}

function connectedTo<P extends Protocol>(streams: SessionStreams<P>, up: boolean): void {
  streams.connectedChanged(up);
}

function endStreams<P extends Protocol>(streams: SessionStreams<P>, close: SessionClose): void {
  streams.end(close);
}

function deliverAudioTo<P extends Protocol>(
  streams: SessionStreams<P>,
  chunk: AudioChunk,
): string | null {
  return streams.deliverAudio(chunk);
}

/** Close codes an application may send (the same rule ws applies). */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}
