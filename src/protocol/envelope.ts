/**
 * One JSON text frame. Application messages and control messages (`$`-types)
 * share this shape.
 */
export interface Envelope<T extends string = string, P = unknown> {
  /** Message type; types starting with `$` are reserved for the protocol. */
  type: T;
  /** Unique per sender and connection lifetime; responses point back at it with `replyTo`. */
  id: string;
  payload: P;
  /** When the sender created the message, ISO-8601. */
  timestamp: string;
  /** Id of the envelope this one answers (request responses, `$pong`, `$error`). */
  replyTo?: string;
  /** `true` on an envelope that opens a request stream (answered by `$next`/`$complete`/`$error`). */
  request?: true;
  /**
   * Per-direction sequence number (1, 2, 3, ...) on every {@link isSequenced sequenced}
   * envelope: the receiver delivers each number once, in order, and drops repeats.
   */
  seq?: number;
  /**
   * Cumulative acknowledgement: the sender has received every sequenced envelope
   * of the other direction up to and including this number. Any envelope may carry it.
   */
  ack?: number;
  /**
   * `true` on a sequenced envelope whose sender wants its acknowledgement soon
   * (within `ACK_DELAY_MS`, 20 ms) rather than lazily (within `ACK_LAZY_MS`, 250 ms):
   * a confirmed send, or a sender whose unacknowledged buffer is filling up.
   */
  ackSoon?: true;
}

/** The control types of protocol version 1. */
export const Control = {
  Hello: '$hello',
  Welcome: '$welcome',
  Ping: '$ping',
  Pong: '$pong',
  Error: '$error',
  Next: '$next',
  Complete: '$complete',
  Cancel: '$cancel',
  Ack: '$ack',
  /** Server to client: the session's token expires soon; answer with `$auth`. */
  Refresh: '$refresh',
  /** Client to server: a fresh token for the session, in band. */
  Auth: '$auth',
  /** Server to client: the fresh token was accepted; the session lives on. */
  Refreshed: '$refreshed',
} as const;

/** One of the {@link Control} types. */
export type ControlType = (typeof Control)[keyof typeof Control];

/** The protocol version carried in `$hello` and `$welcome`. */
export const PROTOCOL_VERSION = 1;

const controlTypes: ReadonlySet<string> = new Set(Object.values(Control));

/** True for any `$`-prefixed type: those are reserved for the protocol. */
export function isReservedType(type: string): boolean {
  return type.charCodeAt(0) === 36; // '$'
}

const unsequenced: ReadonlySet<string> = new Set([
  Control.Hello,
  Control.Welcome,
  Control.Ping,
  Control.Pong,
  Control.Ack,
  Control.Refresh,
  Control.Auth,
  Control.Refreshed,
]);

/**
 * True for the envelopes that carry `seq` and are delivered exactly once, in
 * order, across a resumed session: application messages, requests, `$next`,
 * `$complete`, `$error` and `$cancel`. The handshake, heartbeat and `$ack` are not.
 */
export function isSequenced(type: string): boolean {
  return !unsequenced.has(type);
}

/** True for the control types this protocol version defines. */
export function isControlType(type: string): type is ControlType {
  return controlTypes.has(type);
}

/** Payload of `$refresh`: when the session's token expires (ISO-8601). */
export interface RefreshPayload {
  expiresAt: string;
}

/** Payload of `$auth`: a fresh token for the session. */
export interface AuthPayload {
  token: string;
}

/** Payload of `$refreshed`: when the fresh token expires (ISO-8601), or null when it does not. */
export interface RefreshedPayload {
  expiresAt: string | null;
}

/** Payload of `$hello`, the client's first frame. */
export interface HelloPayload {
  /** Protocol version the client speaks. */
  v: number;
  /** Bearer token, when the client has one. */
  token?: string;
  /** Free-form client description, for logs. */
  client?: string;
  /** Present when the client asks to resume a session it had. */
  resume?: ResumeRequest;
}

/** What a client sends in `$hello` to reattach to its session. */
export interface ResumeRequest {
  /** The `sessionId` of the earlier `$welcome`. */
  sessionId: string;
  /** The `resumeToken` of the earlier `$welcome`. */
  token: string;
  /** The highest server `seq` the client received in order (0 for none). */
  ack: number;
}

/** Payload of `$welcome`, the server's answer to a valid `$hello`. */
export interface WelcomePayload {
  v: number;
  sessionId: string;
  /** Server's heartbeat interval, so clients can align (informational). */
  heartbeatMs?: number;
  /**
   * Secret that lets this client, and only this authenticated user, resume
   * the session after a drop. Servers that cannot resume leave it out.
   */
  resumeToken?: string;
  /** True when this connection reattached to the session named in `$hello.resume`. */
  resumed?: boolean;
  /** The highest client `seq` the server received in order in this session (0 for none). */
  ack?: number;
  /** How long the server keeps a dropped session for resumption, in ms. */
  recoveryWindowMs?: number;
}

/** Payload of `$error`. */
export interface ErrorPayload {
  code: string;
  message: string;
  /** Id of the rejected frame, when known (also set on the envelope's `replyTo`). */
  replyTo?: string;
  details?: unknown;
}
