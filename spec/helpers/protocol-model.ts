// Rules of docs/PROTOCOL.md written again from the document (not from the
// code), as the oracle of the property tests and of the live fuzz run: the
// envelope (§2), the `$hello` payload (§3) and the binary audio frame (§11).
import { Control } from '../../src/protocol/index.js';

/** What a receiver does with one text frame, by the documentation. */
export type Verdict =
  | { ok: true; envelope: Record<string, unknown> }
  | {
      ok: false;
      code: 'RXWIRE_BAD_JSON' | 'RXWIRE_BAD_ENVELOPE' | 'RXWIRE_UNKNOWN_CONTROL';
      /** The frame's `id` when it had a readable one: the `$error` answers it (`replyTo`). */
      id?: string;
    };

const controls: ReadonlySet<string> = new Set(Object.values(Control));

const isCount = (value: unknown, min: number): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/** §2 rules 1–6 for one text frame. */
export function documentedVerdict(text: string): Verdict {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'RXWIRE_BAD_JSON' };
  }
  return documentedEnvelopeVerdict(value);
}

/** §2 rules 2–6 for a parsed JSON value. */
export function documentedEnvelopeVerdict(value: unknown): Verdict {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'RXWIRE_BAD_ENVELOPE' };
  }
  const v = value as Record<string, unknown>;
  const hasId = typeof v.id === 'string' && v.id !== '';
  const bad = (code: 'RXWIRE_BAD_ENVELOPE' | 'RXWIRE_UNKNOWN_CONTROL'): Verdict =>
    hasId ? { ok: false, code, id: v.id as string } : { ok: false, code };
  if (typeof v.type !== 'string' || v.type === '' || !hasId || typeof v.timestamp !== 'string') {
    return bad('RXWIRE_BAD_ENVELOPE');
  }
  if ('replyTo' in v && typeof v.replyTo !== 'string') return bad('RXWIRE_BAD_ENVELOPE');
  if ('request' in v && v.request !== true) return bad('RXWIRE_BAD_ENVELOPE');
  if ('seq' in v && !isCount(v.seq, 1)) return bad('RXWIRE_BAD_ENVELOPE');
  if ('ack' in v && !isCount(v.ack, 0)) return bad('RXWIRE_BAD_ENVELOPE');
  if (v.type.startsWith('$') && !controls.has(v.type)) return bad('RXWIRE_UNKNOWN_CONTROL');
  return { ok: true, envelope: v };
}

/** §3 step 2: is this `$hello` payload acceptable? */
export function documentedHelloOk(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  const { v, token, client, resume } = payload as Record<string, unknown>;
  if (v !== 1) return false;
  if (token !== undefined && token !== null && typeof token !== 'string') return false;
  if (client !== undefined && typeof client !== 'string') return false;
  if (resume === undefined) return true;
  if (typeof resume !== 'object' || resume === null) return false;
  const { sessionId, token: secret, ack } = resume as Record<string, unknown>;
  return (
    typeof sessionId === 'string' &&
    typeof secret === 'string' &&
    typeof ack === 'number' &&
    Number.isSafeInteger(ack) &&
    ack >= 0
  );
}

/** §11: the header a valid binary audio frame carries, or null when it is not one. */
export function documentedAudioFrame(bytes: Uint8Array) {
  if (bytes.length < 24) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [version, encoding, channels] = [bytes[0]!, bytes[1]!, bytes[2]!];
  const sampleRate = view.getUint32(12, true);
  const timestamp = view.getFloat64(16, true);
  const bytesPerSample = encoding === 1 ? 2 : 4;
  if (version !== 1 || (encoding !== 1 && encoding !== 2) || channels === 0) return null;
  if (sampleRate === 0 || sampleRate > 768_000 || !Number.isFinite(timestamp)) return null;
  if ((bytes.length - 24) % (bytesPerSample * channels) !== 0) return null;
  return {
    channels,
    sampleRate,
    timestamp,
    streamId: view.getUint32(4, true),
    seq: view.getUint32(8, true),
    samples: bytes.slice(24),
    type: encoding === 1 ? 'Int16Array' : 'Float32Array',
  };
}
