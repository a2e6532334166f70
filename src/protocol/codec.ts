import { type Envelope, isReservedType, isControlType } from './envelope.js';
import { ErrorCode, ProtocolError } from './errors.js';

/** What one inbound frame decoded to. Decoding never throws. */
export type DecodedFrame =
  | { kind: 'envelope'; envelope: Envelope }
  | { kind: 'binary'; data: ArrayBuffer | Uint8Array }
  | { kind: 'invalid'; error: ProtocolError; id?: string };

/**
 * Serializes an envelope to a JSON text frame: the envelope fields only, in a
 * fixed order; optional fields that are undefined are left out, an undefined
 * payload is written as `null`. Throws a TypeError on a payload JSON cannot
 * encode (a cycle, a BigInt).
 *
 * @example
 * ```ts
 * socket.send(encodeEnvelope({ type: 'chat', id: 'c.1', payload: { text: 'hi' }, timestamp: new Date().toISOString() }));
 * ```
 */
export function encodeEnvelope(envelope: Envelope): string {
  const { payload } = envelope;
  return envelopeText(
    envelope.type,
    JSON.stringify(envelope.id),
    payload === undefined ? 'null' : (JSON.stringify(payload) ?? 'null'),
    JSON.stringify(envelope.timestamp),
    envelope.replyTo,
    envelope.seq,
    envelope.ack,
    envelope.request,
    envelope.ackSoon,
  );
}

const quotedTypes = new Map<string, string>();

/** `JSON.stringify(type)`, remembered for the first 256 types (an app has a few). */
function quotedType(type: string): string {
  let json = quotedTypes.get(type);
  if (json === undefined) {
    json = JSON.stringify(type);
    if (quotedTypes.size < 256) quotedTypes.set(type, json);
  }
  return json;
}

/**
 * The text of an envelope from its parts, the id, payload and timestamp
 * already JSON (so a broadcast encodes its payload once). String
 * concatenation is about a third cheaper than `JSON.stringify` of the object,
 * and this sits on every message's path on both ends.
 */
export function envelopeText(
  type: string,
  idJson: string,
  payloadJson: string,
  timestampJson: string,
  replyTo?: string,
  seq?: number,
  ack?: number,
  request?: true,
  ackSoon?: true,
): string {
  let text = `{"type":${quotedType(type)},"id":${idJson}`;
  if (seq !== undefined) text += `,"seq":${seq}`;
  if (ack !== undefined) text += `,"ack":${ack}`;
  if (ackSoon === true) text += ',"ackSoon":true';
  if (replyTo !== undefined) text += `,"replyTo":${JSON.stringify(replyTo)}`;
  if (request === true) text += ',"request":true';
  return `${text},"payload":${payloadJson},"timestamp":${timestampJson}}`;
}

/**
 * Decodes a text frame (string) or passes a binary frame through. A malformed
 * frame becomes `{kind: 'invalid'}` with a {@link ProtocolError}; the caller
 * reports it and keeps the connection.
 *
 * @example
 * ```ts
 * const frame = decodeFrame(event.data);
 * if (frame.kind === 'invalid') log.warn(frame.error.message);
 * ```
 */
export function decodeFrame(data: unknown): DecodedFrame {
  if (typeof data === 'string') return decodeText(data);
  if (data instanceof ArrayBuffer || data instanceof Uint8Array) return { kind: 'binary', data };
  if (ArrayBuffer.isView(data)) {
    return {
      kind: 'binary',
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }
  return invalid(ErrorCode.BadEnvelope, `unsupported frame data (${typeof data})`);
}

/** Decodes one JSON text frame into an envelope, or explains why it is not one. */
export function decodeText(text: string): DecodedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return invalid(ErrorCode.BadJson, `frame is not valid JSON: ${(cause as Error).message}`);
  }
  return validateEnvelope(value);
}

/** Checks that a parsed JSON value has the envelope shape. */
export function validateEnvelope(value: unknown): DecodedFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(ErrorCode.BadEnvelope, 'frame is not a JSON object');
  }
  const v = value as Record<string, unknown>;
  const id = typeof v.id === 'string' && v.id.length > 0 ? v.id : undefined;
  if (typeof v.type !== 'string' || v.type.length === 0) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'type' must be a non-empty string", id);
  }
  if (id === undefined) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'id' must be a non-empty string");
  }
  if (typeof v.timestamp !== 'string') {
    return invalid(ErrorCode.BadEnvelope, "envelope 'timestamp' must be an ISO-8601 string", id);
  }
  if (v.replyTo !== undefined && typeof v.replyTo !== 'string') {
    return invalid(ErrorCode.BadEnvelope, "envelope 'replyTo' must be a string", id);
  }
  if (v.request !== undefined && v.request !== true) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'request' must be true when present", id);
  }
  if (v.seq !== undefined && !isCount(v.seq, 1)) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'seq' must be an integer ≥ 1", id);
  }
  if (v.ack !== undefined && !isCount(v.ack, 0)) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'ack' must be an integer ≥ 0", id);
  }
  if (v.ackSoon !== undefined && v.ackSoon !== true) {
    return invalid(ErrorCode.BadEnvelope, "envelope 'ackSoon' must be true when present", id);
  }
  if (isReservedType(v.type) && !isControlType(v.type)) {
    return invalid(ErrorCode.UnknownControl, `unknown control type '${v.type}'`, id);
  }
  return { kind: 'envelope', envelope: v as unknown as Envelope };
}

function isCount(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function invalid(
  code: ConstructorParameters<typeof ProtocolError>[0],
  message: string,
  id?: string,
): DecodedFrame {
  const error = new ProtocolError(code, message);
  return id === undefined ? { kind: 'invalid', error } : { kind: 'invalid', error, id };
}
