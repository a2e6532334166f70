// Property-based tests of the envelope codec (src/protocol/codec.ts,
// envelope.ts): every text frame a peer can send, random or a mutated valid
// one, decodes to what docs/PROTOCOL.md §2 says (the oracle in
// spec/helpers/protocol-model.ts) and never throws; whatever encodes decodes
// back to the same envelope; close reasons built from peer data stay under
// 123 bytes.
import fc from 'fast-check';
import {
  clampReason,
  Control,
  decodeFrame,
  decodeText,
  encodeEnvelope,
  ProtocolError,
  validateEnvelope,
  type Envelope,
} from '../../src/protocol/index.js';
import { documentedEnvelopeVerdict, documentedVerdict } from '../helpers/protocol-model.js';
import { mutatedText, textFrame, validEnvelope } from './arbitraries.js';

const runs = { numRuns: 2_000 };

/** decodeFrame's answer next to the oracle's, in one comparable shape. */
function outcome(frame: ReturnType<typeof decodeFrame>) {
  if (frame.kind === 'envelope') return { ok: true, envelope: frame.envelope };
  if (frame.kind === 'binary') return { binary: true };
  expect(frame.error).toBeInstanceOf(ProtocolError);
  return frame.id === undefined
    ? { ok: false, code: frame.error.code }
    : { ok: false, code: frame.error.code, id: frame.id };
}

describe('decoding text frames', () => {
  it('answers every text frame as docs/PROTOCOL.md §2 says, never throwing', () => {
    fc.assert(
      fc.property(textFrame, (text) => {
        expect(outcome(decodeFrame(text))).toEqual(documentedVerdict(text));
      }),
      runs,
    );
  });

  it('answers every mutated valid frame as the documentation says', () => {
    fc.assert(
      fc.property(mutatedText, (text) => {
        expect(outcome(decodeText(text))).toEqual(documentedVerdict(text));
      }),
      runs,
    );
  });

  it('checks any JS value as an envelope without throwing (validateEnvelope)', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withMap: true, withBigInt: true }),
        (v) => {
          expect(outcome(validateEnvelope(v))).toEqual(documentedEnvelopeVerdict(v));
        },
      ),
      runs,
    );
  });

  it('passes binary frames through and rejects every other kind of data with RXWIRE_BAD_ENVELOPE', () => {
    const binary = fc.oneof(
      fc.uint8Array().map((a) => a.buffer),
      fc.uint8Array(),
      fc.uint8Array({ minLength: 4 }).map((a) => new DataView(a.buffer, 1, a.length - 2)),
      fc.int16Array(),
      fc.uint8Array().map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(binary, (data) => {
        const frame = decodeFrame(data);
        expect(frame.kind).toBe('binary');
        expect(frame.kind === 'binary' && frame.data.byteLength).toBe(data.byteLength);
      }),
      runs,
    );
    const other = fc.anything().filter((v) => typeof v !== 'string');
    fc.assert(
      fc.property(other, (data) => {
        expect(outcome(decodeFrame(data))).toEqual({ ok: false, code: 'RXWIRE_BAD_ENVELOPE' });
      }),
      runs,
    );
  });
});

describe('encoding', () => {
  it('decodes what it encodes back to the same envelope', () => {
    fc.assert(
      fc.property(validEnvelope, (envelope) => {
        const text = encodeEnvelope(envelope);
        const frame = decodeText(text);
        expect(frame).toEqual({ kind: 'envelope', envelope: expectedAfterJson(envelope) });
        // The text is JSON of exactly the envelope fields, and encoding is stable.
        expect(JSON.parse(text)).toEqual(expectedAfterJson(envelope));
        if (frame.kind === 'envelope') expect(encodeEnvelope(frame.envelope)).toBe(text);
      }),
      runs,
    );
  });

  it('drops properties that are not envelope fields', () => {
    fc.assert(
      fc.property(
        validEnvelope,
        fc.dictionary(
          fc.string().filter((k) => !envelopeFields.includes(k) && k !== '__proto__'),
          fc.jsonValue(),
        ),
        (envelope, extra) => {
          const text = encodeEnvelope({ ...extra, ...envelope } as Envelope);
          expect(JSON.parse(text)).toEqual(expectedAfterJson(envelope));
        },
      ),
      runs,
    );
  });

  it('refuses a payload JSON cannot encode with a TypeError, and writes nothing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    fc.assert(
      fc.property(
        validEnvelope,
        fc.constantFrom<unknown>(10n, cyclic, [cyclic], { n: 1n }),
        (envelope, payload) => {
          expect(() => encodeEnvelope({ ...envelope, payload })).toThrow(TypeError);
        },
      ),
    );
  });
});

describe('clampReason (close reasons carry peer data)', () => {
  it('keeps every reason under 123 UTF-8 bytes, as a prefix of the original', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (reason) => {
        const clamped = clampReason(reason);
        expect(Buffer.byteLength(clamped)).toBeLessThanOrEqual(122);
        if (Buffer.byteLength(reason) <= 122) expect(clamped).toBe(reason);
        else {
          expect(clamped.endsWith('...')).toBe(true);
          expect(reason.startsWith(clamped.slice(0, -3))).toBe(true);
        }
      }),
      runs,
    );
  });
});

const envelopeFields = ['type', 'id', 'payload', 'timestamp', 'replyTo', 'request', 'seq', 'ack'];

/** What JSON makes of an envelope: undefined payload as null, optional fields left out when undefined. */
function expectedAfterJson(envelope: Envelope): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of envelopeFields) {
    const value = (envelope as unknown as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = JSON.parse(JSON.stringify(value) ?? 'null');
  }
  out.payload ??= null;
  return out;
}

it('covers every control type in the generated envelopes', () => {
  const seen = new Set(fc.sample(validEnvelope, { numRuns: 3_000, seed: 1 }).map((e) => e.type));
  for (const type of Object.values(Control)) expect(seen).toContain(type);
});
