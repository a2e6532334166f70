import {
  Control,
  ErrorCode,
  PROTOCOL_VERSION,
  encodeEnvelope,
  type Envelope,
  type ErrorPayload,
  type WelcomePayload,
} from '../src/protocol/index.js';

let lastMs = 0;
let lastIso = '';

/** ISO-8601 now, formatted at most once per millisecond (it sits on the per-message path). */
export function timestamp(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** Encodes one outbound envelope. `undefined` payloads go out as `null` so the field is never missing. */
export function encodeFrame(type: string, id: string, payload: unknown, replyTo?: string): string {
  const envelope: Envelope = {
    type,
    id,
    payload: payload === undefined ? null : payload,
    timestamp: timestamp(),
  };
  if (replyTo !== undefined) envelope.replyTo = replyTo;
  return encodeEnvelope(envelope);
}

/** `$welcome`, answering the `$hello` whose id is `replyTo`. */
export function welcomeFrame(
  id: string,
  replyTo: string,
  sessionId: string,
  heartbeatMs: number | undefined,
): string {
  const payload: WelcomePayload = { v: PROTOCOL_VERSION, sessionId };
  if (heartbeatMs !== undefined) payload.heartbeatMs = heartbeatMs;
  return encodeFrame(Control.Welcome, id, payload, replyTo);
}

/** `$error`: the frame `replyTo` (when known) was rejected; the connection stays up. */
export function errorFrame(
  id: string,
  code: string,
  message: string,
  replyTo?: string,
  details?: unknown,
): string {
  const payload: ErrorPayload = { code, message };
  if (replyTo !== undefined) payload.replyTo = replyTo;
  if (details !== undefined) payload.details = details;
  return encodeFrame(Control.Error, id, payload, replyTo);
}

const MAX_MESSAGE = 1000;

/**
 * What a failed request handler tells the client: its own string `code` when it
 * has one (an application error it chose to raise), else RXWIRE_HANDLER_ERROR;
 * the message, never the stack.
 */
export function describeHandlerError(error: unknown): {
  code: string;
  message: string;
  details?: unknown;
} {
  const e = error as { code?: unknown; message?: unknown; details?: unknown } | null;
  const code =
    typeof e === 'object' && e !== null && typeof e.code === 'string' && e.code.length > 0
      ? e.code
      : ErrorCode.HandlerError;
  let message =
    typeof error === 'string'
      ? error
      : typeof e === 'object' && e !== null && typeof e.message === 'string' && e.message
        ? e.message
        : 'request handler failed';
  if (message.length > MAX_MESSAGE) message = message.slice(0, MAX_MESSAGE) + '...';
  if (
    typeof e === 'object' &&
    e !== null &&
    e.details !== undefined &&
    code !== ErrorCode.HandlerError
  ) {
    return { code, message, details: e.details };
  }
  return { code, message };
}
