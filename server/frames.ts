import {
  IsoClock,
  Control,
  ErrorCode,
  PROTOCOL_VERSION,
  envelopeText,
  type ErrorPayload,
  type WelcomePayload,
} from '../src/protocol/index.js';

const clock = new IsoClock();

/** ISO-8601 now (it sits on the per-message path, so it is formatted cheaply). */
export function timestamp(): string {
  return clock.format(Date.now());
}

/**
 * Encodes one outbound envelope. `undefined` payloads go out as `null` so the
 * field is never missing. Throws (TypeError) on a payload JSON cannot encode.
 */
export function encodeFrame(
  type: string,
  id: string,
  payload: unknown,
  replyTo?: string,
  seq?: number,
  ack?: number,
): string {
  return frameWithPayload(type, id, payloadJson(payload), replyTo, seq, ack);
}

/** The payload as JSON, once (broadcast reuses it for every session). */
export function payloadJson(payload: unknown): string {
  return payload === undefined ? 'null' : (JSON.stringify(payload) ?? 'null');
}

/**
 * Encodes an envelope around an already encoded payload (`id` is a server id:
 * no quoting needed). `ackSoon` asks the client to acknowledge it promptly.
 */
export function frameWithPayload(
  type: string,
  id: string,
  json: string,
  replyTo?: string,
  seq?: number,
  ack?: number,
  ackSoon?: true,
): string {
  return envelopeText(
    type,
    `"${id}"`,
    json,
    `"${timestamp()}"`,
    replyTo,
    seq,
    ack,
    undefined,
    ackSoon,
  );
}

/** `$welcome`, answering the `$hello` whose id is `replyTo`. */
export function welcomeFrame(
  id: string,
  replyTo: string,
  welcome: Omit<WelcomePayload, 'v'>,
): string {
  const payload: WelcomePayload = { v: PROTOCOL_VERSION, ...welcome };
  return encodeFrame(Control.Welcome, id, payload, replyTo);
}

/** A standalone cumulative `$ack`, for when no other frame is going out to carry it. */
export function ackFrame(id: string, ack: number): string {
  return `{"type":"$ack","id":"${id}","ack":${ack},"payload":null,"timestamp":"${timestamp()}"}`;
}

/** The payload of `$error`: the frame `replyTo` (when known) was rejected. */
export function errorPayload(
  code: string,
  message: string,
  replyTo?: string,
  details?: unknown,
): ErrorPayload {
  const payload: ErrorPayload = { code, message };
  if (replyTo !== undefined) payload.replyTo = replyTo;
  if (details !== undefined) payload.details = details;
  return payload;
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
