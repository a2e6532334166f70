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

/** True for the control types this protocol version defines. */
export function isControlType(type: string): type is ControlType {
  return controlTypes.has(type);
}

/** Payload of `$hello`, the client's first frame. */
export interface HelloPayload {
  /** Protocol version the client speaks. */
  v: number;
  /** Bearer token, when the client has one. */
  token?: string;
  /** Free-form client description, for logs. */
  client?: string;
}

/** Payload of `$welcome`, the server's answer to a valid `$hello`. */
export interface WelcomePayload {
  v: number;
  sessionId: string;
  /** Server's heartbeat interval, so clients can align (informational). */
  heartbeatMs?: number;
}

/** Payload of `$error`. */
export interface ErrorPayload {
  code: string;
  message: string;
  /** Id of the rejected frame, when known (also set on the envelope's `replyTo`). */
  replyTo?: string;
  details?: unknown;
}
