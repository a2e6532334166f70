import {
  CloseCode,
  Control,
  ErrorCode,
  clampReason,
  decodeText,
  isReservedType,
  isSequenced,
  type DecodedFrame,
  type Envelope,
  type ErrorPayload,
  type HelloPayload,
  type ResumeRequest,
} from '../src/protocol/index.js';
import type { AuthOutcome } from './auth.js';
import { encodeFrame, welcomeFrame } from './frames.js';
import { helloProblem } from './hello.js';
import { exceedsDepth } from './json-depth.js';
import { LimitedLog, type Logger } from './logger.js';
import { TokenBucket } from './rate-limit.js';
import { admit, type Admitting } from './admission.js';
import type { ConnectionHost, SessionSocket, UpgradeInfo } from './connection-types.js';
import { Handshake, clientIp } from './handshake.js';
import {
  sessionRequest,
  type ServerSession,
  type SessionLink,
  type SessionRequest,
} from './session.js';

type Phase = 'hello' | 'auth' | 'open' | 'closing' | 'closed';

/**
 * One socket from upgrade to close: the `$hello` handshake and auth, the
 * rate limit, decoding and rejecting frames, control frames, and handing
 * application messages and requests to its {@link ServerSession}.
 */
export class Connection implements SessionLink, Admitting {
  private phase: Phase = 'hello';
  private session: ServerSession<never, unknown> | null = null;
  /** What only the handshake needs; null once `$welcome` is sent or the socket closed. */
  private handshake: Handshake | null;
  private readonly bucket: TokenBucket | null;
  /** Audio budget and rate-limited logs, made on first use. */
  private extras: ConnectionExtras | undefined = undefined;
  /** The server closed the socket; `resumable` says whether the client may resume. */
  private serverClose: { resumable: boolean } | null = null;
  private readonly transportName: 'websocket' | 'http';
  /** Who authenticate said this connection is, and when its token expires (set before admission). */
  private accepted: { user: unknown; expiresAt: number | undefined } | undefined;

  constructor(
    /** Connection id for logs; a new session takes it as its id. */
    readonly id: string,
    private readonly socket: SessionSocket,
    info: UpgradeInfo,
    private readonly host: ConnectionHost,
  ) {
    this.transportName = info.transport ?? 'websocket';
    const { options } = host;
    this.bucket = options.rateLimit
      ? new TokenBucket(options.rateLimit.messages, options.rateLimit.perMs)
      : null;
    const timer = setTimeout(() => this.handshakeTimedOut(), options.helloTimeout);
    timer.unref?.();
    this.handshake = new Handshake(info, timer);
  }

  /** One inbound frame: a string for text frames, bytes for binary ones. */
  receive(data: string | Uint8Array): void {
    const phase = this.phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (phase === 'open' && typeof data !== 'string') {
      // Audio has a budget of its own and is dropped, not closed, over it: see RateLimitOptions.
      const extras = this.extrasState;
      const audioBucket = (extras.audioBucket ??= this.host.options.rateLimit
        ? new TokenBucket(
            this.host.options.rateLimit.audioFrames,
            this.host.options.rateLimit.perMs,
          )
        : null);
      if (audioBucket !== null && !audioBucket.take()) {
        this.overLimit.report('audio frames over the audio rate limit are dropped');
        this.session!.audioOverLimit();
        return;
      }
    } else if (this.bucket !== null && !this.bucket.take()) {
      this.logger.warn('rate limit exceeded, closing', { session: this.id });
      this.closeSocket(CloseCode.TooManyRequests, 'rate limit exceeded', true);
      return;
    }
    if (phase === 'open') this.dispatch(data);
    else if (phase === 'hello') this.hello(data);
    else if (!this.handshake!.keep(data)) {
      this.closeSocket(CloseCode.TooManyRequests, 'too many frames before $welcome');
    }
  }

  /** The socket closed (any reason, including terminate). Idempotent. */
  closed(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.handshake?.clearTimer();
    this.handshake = null;
    this.extras?.badFrames?.flush();
    this.extras?.overLimit?.flush();
    this.host.detach(this);
    const session = this.session;
    if (session) {
      this.logger.debug('connection closed', { session: session.id, code, reason });
      // A connection that dropped (1006) or closed without a status (1005: how
      // a client abandons a stalled socket) leaves the session waiting for a
      // resume; a goodbye, a protocol error or a close the server chose ends it.
      const final =
        this.serverClose !== null
          ? !this.serverClose.resumable
          : code !== CloseCode.Abnormal && code !== 1005;
      session.detach(this, { code, reason }, final);
    }
  }

  /**
   * The socket failed on a protocol error (oversize frame, bad UTF-8): the
   * transport is closing it, and the session must not wait for a resume.
   */
  failed(): void {
    this.serverClose ??= { resumable: false };
  }

  /** Ends the socket at once, without a close handshake. */
  terminate(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closing';
    this.socket.terminate();
  }

  // --- SessionLink -------------------------------------------------------

  /** What carries this connection (see {@link UpgradeInfo.transport}). */
  get transport(): 'websocket' | 'http' {
    return this.transportName;
  }

  send(text: string): void {
    if (this.phase === 'open') this.socket.send(text);
  }

  /**
   * Closes the socket from the server side; the session (if any) ends when it
   * is gone, or waits for a resume when `resumable`.
   */
  close(code: number, reason: string, resumable = false): void {
    this.closeSocket(code, clampReason(reason), resumable);
  }

  report(message: string, context: Record<string, unknown>): void {
    this.badFrames.report(message, context);
  }

  // --- internals ---------------------------------------------------------

  private get logger(): Logger {
    return this.host.options.logger;
  }

  private get extrasState(): ConnectionExtras {
    return (this.extras ??= new ConnectionExtras());
  }

  private get badFrames(): LimitedLog {
    return (this.extrasState.badFrames ??= new LimitedLog(
      this.logger,
      { session: this.id },
      'bad frames',
    ));
  }

  private get overLimit(): LimitedLog {
    return (this.extrasState.overLimit ??= new LimitedLog(
      this.logger,
      { session: this.id },
      'audio frames dropped over the audio rate limit',
      1,
    ));
  }

  private reject(code: string, message: string, replyTo?: string): void {
    if (this.session) this.session.reject(code, message, replyTo);
    else this.badFrames.report(`rejected frame: ${message}`, { code });
  }

  private closeSocket(code: number, reason: string, resumable = false): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.serverClose = { resumable };
    this.phase = 'closing';
    if (this.handshake !== null) {
      this.handshake.clearTimer();
      this.handshake.early = undefined;
    }
    this.socket.close(code, reason);
  }

  private decode(text: string): DecodedFrame | null {
    const { maxDepth } = this.host.options;
    // JSON nested deeper than maxDepth needs more than maxDepth pairs of brackets.
    if (text.length > 2 * maxDepth && exceedsDepth(text, maxDepth)) return null;
    return decodeText(text);
  }

  private dispatch(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      this.binary(data);
      return;
    }
    const frame = this.decode(data);
    if (frame === null) {
      this.reject(
        ErrorCode.BadJson,
        `JSON nested deeper than ${this.host.options.maxDepth} levels`,
      );
      return;
    }
    if (frame.kind !== 'envelope') {
      if (frame.kind === 'invalid') this.reject(frame.error.code, frame.error.message, frame.id);
      return;
    }
    const envelope = frame.envelope;
    const session = this.session!;
    if (envelope.ack !== undefined && !session.acknowledged(envelope.ack)) {
      this.closeSocket(CloseCode.BadRequest, `ack ${envelope.ack} for a message never sent`);
      return;
    }
    if (envelope.seq !== undefined && isSequenced(envelope.type) && !session.admit(envelope.seq)) {
      return; // a repeat after a resume, already delivered (or a gap: closed)
    }
    if (isReservedType(envelope.type)) this.control(envelope, session);
    else if (envelope.request === true) session.requests.start(envelope);
    else session.deliver(envelope);
  }

  private control(envelope: Envelope, session: ServerSession<never, unknown>): void {
    switch (envelope.type) {
      case Control.Ping:
        this.send(encodeFrame(Control.Pong, this.host.nextId(), null, envelope.id));
        return;
      case Control.Pong:
      case Control.Ack:
        return;
      case Control.Auth:
        session.tokenFrame(envelope, this.host, (code, message) =>
          this.reject(code, message, envelope.id),
        );
        return;
      case Control.Cancel:
        if (envelope.replyTo === undefined) {
          this.reject(
            ErrorCode.BadEnvelope,
            "'$cancel' needs 'replyTo' (the request id)",
            envelope.id,
          );
        } else {
          session.requests.cancel(envelope.replyTo);
        }
        return;
      case Control.Error: {
        // Never answer an $error with an $error: two peers could bounce them forever.
        const p = envelope.payload as Partial<ErrorPayload> | null;
        this.badFrames.report('client rejected a frame', {
          code: typeof p?.code === 'string' ? p.code : undefined,
          message: typeof p?.message === 'string' ? p.message : undefined,
          replyTo: envelope.replyTo,
        });
        return;
      }
      case Control.Hello:
        this.reject(
          ErrorCode.UnknownControl,
          "'$hello' is only valid as the first frame",
          envelope.id,
        );
        return;
      default:
        this.reject(
          ErrorCode.UnknownControl,
          `'${envelope.type}' is not accepted from a client`,
          envelope.id,
        );
    }
  }

  private binary(data: Uint8Array): void {
    const onBinary = this.host.onBinary;
    if (onBinary && this.session) {
      onBinary(data, this.session, (code, message) => this.reject(code, message));
    } else {
      this.reject(ErrorCode.BadBinaryFrame, 'binary frames are not accepted by this server');
    }
  }

  private hello(data: string | Uint8Array): void {
    const frame = typeof data === 'string' ? this.decode(data) : null;
    if (frame?.kind !== 'envelope' || frame.envelope.type !== Control.Hello) {
      this.badFrames.report('first frame was not $hello');
      this.closeSocket(CloseCode.BadRequest, 'first frame must be $hello');
      return;
    }
    const hello = frame.envelope;
    const problem = helloProblem(hello.payload);
    if (problem !== null) {
      this.badFrames.report(`bad $hello: ${problem}`);
      this.closeSocket(CloseCode.BadRequest, clampReason(problem));
      return;
    }
    const payload = hello.payload as HelloPayload;
    const info = this.handshake!.info;
    const token = payload.token ? payload.token : info.headerToken;
    this.phase = 'auth';
    this.host.authenticate(token, info.request).then(
      (outcome) => this.authenticated(outcome, hello.id, payload.resume),
      (error: unknown) => {
        this.logger.error('authentication crashed', { session: this.id, error: String(error) });
        this.closeSocket(CloseCode.InternalError, 'authentication failed');
      },
    );
  }

  private authenticated(
    outcome: AuthOutcome<unknown>,
    helloId: string,
    resume: ResumeRequest | undefined,
  ): void {
    if (this.phase !== 'auth') return; // closed while authenticating
    if (!outcome.ok) {
      this.logger.info('connection refused', {
        session: this.id,
        code: outcome.code,
        reason: outcome.reason,
      });
      this.closeSocket(outcome.code, clampReason(outcome.reason));
      return;
    }
    this.accepted = { user: outcome.user, expiresAt: outcome.expiresAt };
    admit(this, this.host, outcome.user, helloId, resume);
  }

  // --- Admitting (see admission.ts) ----------------------------------------

  get waiting(): boolean {
    return this.phase === 'auth';
  }

  sessionRequest(): SessionRequest {
    return sessionRequest(this.handshake!.info.request, clientIp(this.handshake!.info));
  }

  /**
   * Carries `session` from now on: `$welcome` (for a resumed session after
   * taking it over from its old connection, then what the client missed),
   * then the frames the client pipelined after `$hello`.
   */
  begin(session: ServerSession<never, unknown>, helloId: string, resumed: boolean): void {
    this.handshake?.clearTimer();
    this.phase = 'open';
    this.session = session;
    if (resumed) session.attach(this);
    // The token this connection authenticated with bounds the session from now on.
    const accepted = this.accepted!;
    this.accepted = undefined; // the session holds both from now on
    if (resumed) session.renew(accepted.user);
    session.tokenAccepted(accepted.expiresAt, this.host);
    this.socket.send(
      welcomeFrame(this.host.nextId(), helloId, {
        sessionId: session.id,
        ...this.welcomeExtras(session),
        resumed,
      }),
    );
    if (resumed) session.resend();
  }

  /** Replays the frames pipelined after `$hello`, in order, now that a session is open. */
  replayEarly(): void {
    const early = this.handshake?.early;
    this.handshake = null;
    if (early === undefined) return;
    for (const data of early) {
      if (this.phase !== 'open') break;
      this.dispatch(data);
    }
  }

  private welcomeExtras(session: ServerSession<never, unknown>) {
    const { options } = this.host;
    return {
      ...(options.heartbeat ? { heartbeatMs: options.heartbeat.interval } : {}),
      resumeToken: session.resumeToken,
      ack: session.received,
      recoveryWindowMs: options.recoveryWindow,
    };
  }

  private handshakeTimedOut(): void {
    if (this.handshake !== null) this.handshake.timer = undefined;
    if (this.phase === 'hello') {
      this.logger.info('no $hello in time, closing', { session: this.id });
      this.closeSocket(
        CloseCode.HelloTimeout,
        `no $hello within ${this.host.options.helloTimeout} ms`,
      );
    } else if (this.phase === 'auth') {
      this.logger.warn('authenticate did not answer in time, closing', { session: this.id });
      this.closeSocket(CloseCode.TryAgainLater, 'authentication timed out');
    }
  }
}

/** What a connection makes only when it receives audio or misbehaves. */
class ConnectionExtras {
  audioBucket: TokenBucket | null | undefined = undefined;
  overLimit: LimitedLog | undefined = undefined;
  badFrames: LimitedLog | undefined = undefined;
}
