// The envelope rules of docs/PROTOCOL.md §2, written again from the document
// (not from src/protocol/codec.ts), as the oracle of the property tests and of
// the live fuzz run: for any text frame, what the documentation says a
// receiver answers.
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
