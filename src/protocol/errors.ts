/**
 * Stable error codes. Each error rxwire raises or receives carries one of
 * these in `code`; they never change meaning between versions.
 */
export const ErrorCode = {
  /** `WebSocketCtor` missing, or an option has an invalid value. */
  InvalidOption: 'RXWIRE_INVALID_OPTION',
  /** `send`/`request` was called with a reserved (`$`-prefixed) or empty type. */
  ReservedType: 'RXWIRE_RESERVED_TYPE',
  /** A `rxwire/react` hook was used outside an `<RxwireProvider>`. */
  NoProvider: 'RXWIRE_NO_PROVIDER',
  /** The outbound queue is full and `queue.overflow` is `'error'`. */
  QueueFull: 'RXWIRE_QUEUE_FULL',
  /** A request got no response frame within its timeout. */
  RequestTimeout: 'RXWIRE_REQUEST_TIMEOUT',
  /** The connection carrying a request was lost before the request completed. */
  ConnectionLost: 'RXWIRE_CONNECTION_LOST',
  /**
   * The server did not resume the session (the recovery window passed, or it
   * restarted): a request it had accepted cannot complete. Resend it if it is safe to.
   */
  SessionLost: 'RXWIRE_SESSION_LOST',
  /**
   * `server.sendTo` named a session no node has (never existed, ended, or
   * expired).
   */
  SessionNotFound: 'RXWIRE_SESSION_NOT_FOUND',
  /**
   * The session moved to another node (a takeover, or a drain) while this
   * request stream was running on the old one: the stream ended there, and
   * the error reaches the client once, after it resumed. Safe to retry.
   */
  SessionMoved: 'RXWIRE_SESSION_MOVED',
  /**
   * A cluster operation (a remote `sendTo`, a takeover, a drain) could not
   * reach the cluster's store (Redis) in time. Local sessions keep working.
   */
  ClusterUnavailable: 'RXWIRE_CLUSTER_UNAVAILABLE',
  /** A confirmed send was not acknowledged by the peer within its timeout. */
  ConfirmTimeout: 'RXWIRE_CONFIRM_TIMEOUT',
  /** The client was disposed while the operation was pending. */
  Disposed: 'RXWIRE_DISPOSED',
  /** No `$welcome` arrived within `connectTimeout`. */
  ConnectTimeout: 'RXWIRE_CONNECT_TIMEOUT',
  /** No `$pong` arrived within `heartbeat.timeout`. */
  HeartbeatTimeout: 'RXWIRE_HEARTBEAT_TIMEOUT',
  /** The `token` function threw or rejected. */
  TokenFailed: 'RXWIRE_TOKEN_FAILED',
  /** The connection closed; see `close` on the error. */
  ConnectionClosed: 'RXWIRE_CONNECTION_CLOSED',
  /** The server refused the token (close 4401) twice in a row. */
  Unauthorized: 'RXWIRE_UNAUTHORIZED',
  /** An `authenticate` hook refused an authenticated user (`ForbiddenError`, close 4403). */
  Forbidden: 'RXWIRE_FORBIDDEN',
  /** Reconnection stopped after `reconnect.maxAttempts` failed attempts. */
  ReconnectFailed: 'RXWIRE_RECONNECT_FAILED',
  /** A text frame was not valid JSON. */
  BadJson: 'RXWIRE_BAD_JSON',
  /** A frame was JSON but not a valid envelope (missing or mistyped fields). */
  BadEnvelope: 'RXWIRE_BAD_ENVELOPE',
  /** A `$`-prefixed type that this protocol version does not define. */
  UnknownControl: 'RXWIRE_UNKNOWN_CONTROL',
  /** A message type the receiver does not accept. */
  UnknownType: 'RXWIRE_UNKNOWN_TYPE',
  /** A payload failed the receiver's validator for its type. */
  InvalidPayload: 'RXWIRE_INVALID_PAYLOAD',
  /** A request type for which the receiver has no handler. */
  NoHandler: 'RXWIRE_NO_HANDLER',
  /** A request handler threw or its Observable errored. */
  HandlerError: 'RXWIRE_HANDLER_ERROR',
  /** A request reused the id of a request still in flight. */
  DuplicateRequest: 'RXWIRE_DUPLICATE_REQUEST',
  /** An audio stream piped into `client.audio` errored (the input itself stays open). */
  AudioSourceFailed: 'RXWIRE_AUDIO_SOURCE_FAILED',
  /** The peer sent `$error` without a code (the client's fallback). */
  RemoteError: 'RXWIRE_REMOTE_ERROR',
  /** A binary frame that is not a valid audio frame. */
  BadBinaryFrame: 'RXWIRE_BAD_BINARY_FRAME',
  /** Bytes given to `fromWav` are not a WAV file it can read (truncated, not RIFF/WAVE, unsupported format). */
  BadWav: 'RXWIRE_BAD_WAV',
  /** The user or a Permissions Policy refused the microphone (`NotAllowedError`). */
  MicPermissionDenied: 'RXWIRE_MIC_PERMISSION_DENIED',
  /** No microphone, or none matching the constraints (`NotFoundError`, `OverconstrainedError`). */
  MicNotFound: 'RXWIRE_MIC_NOT_FOUND',
  /** No `getUserMedia`, `AudioContext` or AudioWorklet here (not a browser, or not a secure context). */
  MicUnsupported: 'RXWIRE_MIC_UNSUPPORTED',
  /** The microphone could not start or broke (`NotReadableError`: busy or faulty device), or the worklet failed. */
  MicFailed: 'RXWIRE_MIC_FAILED',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base class of every error rxwire raises. `code` is stable; `message` is for humans.
 *
 * @example
 * ```ts
 * client.request('search', { q }).subscribe({
 *   error: (e) => { if (e instanceof RxwireError && e.code === 'RXWIRE_REQUEST_TIMEOUT') retry(); },
 * });
 * ```
 */
export class RxwireError extends Error {
  override name = 'RxwireError';
  constructor(
    /** Stable machine-readable code, one of {@link ErrorCode} or a server-defined code. */
    public readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An invalid option or a misuse of the API (a `TypeError` with a stable `code`). */
export class RxwireTypeError extends TypeError {
  override name = 'RxwireTypeError';
  constructor(
    public readonly code:
      typeof ErrorCode.InvalidOption | typeof ErrorCode.ReservedType | typeof ErrorCode.NoProvider,
    message: string,
  ) {
    super(message);
  }
}

/** What a WebSocket close looked like: `wasClean` is false when the connection just dropped. */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  /**
   * Why a connection failed without a close frame (code 1006), where the
   * platform says: Node's `ws` and the HTTP transport do, browsers hide it.
   * An error code such as `'ECONNREFUSED'`, `'ENOTFOUND'`,
   * `'CERT_HAS_EXPIRED'`, or `'HTTP 503'` for an upgrade the server refused.
   */
  cause?: string;
  /** The HTTP status of an upgrade the server refused (503 over a connection limit, 403 for a refused Origin). */
  httpStatus?: number;
}

/**
 * The connection closed; `close` holds the code and reason. Code
 * `RXWIRE_CONNECTION_CLOSED` or `RXWIRE_UNAUTHORIZED`. When the socket
 * reported why it failed (in Node: a refused connection, an untrusted TLS
 * certificate), that error is the `cause`; browsers do not say.
 */
export class ConnectionClosedError extends RxwireError {
  override name = 'ConnectionClosedError';
  constructor(
    public readonly close: CloseInfo,
    code:
      | typeof ErrorCode.ConnectionClosed
      | typeof ErrorCode.Unauthorized = ErrorCode.ConnectionClosed,
    options?: { cause?: unknown },
  ) {
    super(code, describeClose(close), options);
  }
}

function describeClose(close: CloseInfo): string {
  if (close.httpStatus !== undefined) {
    return `connection refused by the server: HTTP ${close.httpStatus}`;
  }
  const detail = close.reason || close.cause;
  return `connection closed with ${close.code}${detail ? ` (${detail})` : ''}`;
}

/** Raised with `queue.overflow: 'error'` when `send` finds the queue full. Code `RXWIRE_QUEUE_FULL`. */
export class QueueFullError extends RxwireError {
  override name = 'QueueFullError';
  constructor(
    public readonly limit: number,
    message = `outbound queue is full (${limit} messages); message not queued`,
  ) {
    super(ErrorCode.QueueFull, message);
  }
}

/** A request got no response frame in time. Code `RXWIRE_REQUEST_TIMEOUT`. */
export class RequestTimeoutError extends RxwireError {
  override name = 'RequestTimeoutError';
  constructor(
    public readonly type: string,
    public readonly timeoutMs: number,
  ) {
    super(ErrorCode.RequestTimeout, `request '${type}' got no response within ${timeoutMs} ms`);
  }
}

/**
 * The peer rejected a frame with `$error`. `code` is the peer's code (for example
 * `RXWIRE_HANDLER_ERROR`, or an application code a handler chose); `replyTo` is
 * the id of the rejected frame.
 */
export class RemoteError extends RxwireError {
  override name = 'RemoteError';
  constructor(
    code: string,
    message: string,
    public readonly replyTo?: string,
    public readonly details?: unknown,
  ) {
    super(code, message);
  }

  /** Reads an `$error` envelope, tolerating a peer that left fields out. */
  static fromEnvelope(envelope: { payload: unknown; replyTo?: string | undefined }): RemoteError {
    const p = (envelope.payload ?? {}) as {
      code?: unknown;
      message?: unknown;
      replyTo?: unknown;
      details?: unknown;
    };
    return new RemoteError(
      typeof p.code === 'string' ? p.code : ErrorCode.RemoteError,
      typeof p.message === 'string' ? p.message : 'the peer rejected a frame',
      envelope.replyTo ?? (typeof p.replyTo === 'string' ? p.replyTo : undefined),
      p.details,
    );
  }
}

/** A frame we received could not be decoded. Code `RXWIRE_BAD_JSON`, `RXWIRE_BAD_ENVELOPE` or `RXWIRE_BAD_BINARY_FRAME`. */
export class ProtocolError extends RxwireError {
  override name = 'ProtocolError';
  constructor(
    code:
      | typeof ErrorCode.BadJson
      | typeof ErrorCode.BadEnvelope
      | typeof ErrorCode.UnknownControl
      | typeof ErrorCode.InvalidPayload
      | typeof ErrorCode.BadBinaryFrame,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
