// fast-check arbitraries for the property tests: valid envelopes, text frames
// a peer could send (random text, random JSON, envelope-shaped objects with
// random fields), and valid frames mutated at the byte or field level.
import fc from 'fast-check';
import { Control, encodeEnvelope, type Envelope } from '../../src/protocol/index.js';

const controls = Object.values(Control);

/** Any UTF-16 string, lone surrogates included. */
export const anyString = (max = 40): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength: max });

const appType = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 20 })
  .filter((t) => !t.startsWith('$'));

/** Envelopes the codec must round-trip: every field valid, optional ones sometimes present. */
export const validEnvelope: fc.Arbitrary<Envelope> = fc
  .record(
    {
      type: fc.oneof(appType, fc.constantFrom(...controls)),
      id: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
      payload: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constant(undefined)),
      timestamp: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        anyString(),
      ),
      replyTo: anyString(),
      request: fc.constant(true as const),
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      ack: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    },
    { requiredKeys: ['type', 'id', 'payload', 'timestamp'] },
  )
  .map((e) => e as Envelope);

/** A value that is sometimes right for an envelope field and often wrong. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  anyString(),
  fc.constantFrom('', '$', '$hello', '$nope', 0, -1, 1, 1.5, 2 ** 53, -0, true, false, null),
  fc.constantFrom(...controls),
  anyString(8).map((t) => `$${t}`),
  fc.integer(),
  fc.double(),
);

/** Objects with the envelope's keys (each present or not) holding random values, plus extra keys. */
export const envelopeShaped: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      {
        type: fieldValue,
        id: fieldValue,
        payload: fieldValue,
        timestamp: fieldValue,
        replyTo: fieldValue,
        request: fieldValue,
        seq: fieldValue,
        ack: fieldValue,
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(anyString(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  )
  .map(([fields, extra]) => ({ ...extra, ...fields }));

const fields = ['type', 'id', 'payload', 'timestamp', 'replyTo', 'request', 'seq', 'ack'] as const;

/** A valid envelope with one field deleted or replaced by a random value, as JSON text. */
const fieldMutated = fc
  .tuple(
    validEnvelope,
    fc.constantFrom(...fields),
    fc.oneof(fc.constant(undefined), fieldValue, fc.jsonValue()),
  )
  .map(([envelope, field, value]) => {
    const copy: Record<string, unknown> = { ...envelope };
    if (value === undefined) delete copy[field];
    else copy[field] = value;
    return JSON.stringify(copy);
  });

interface Edit {
  kind: 'delete' | 'insert' | 'replace' | 'truncate' | 'duplicate';
  at: number;
  length: number;
  text: string;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate', 'duplicate'),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 8 }),
  text: fc.oneof(anyString(4), fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '\u0000')),
});

/** Applies byte-level edits (positions taken modulo the length). */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const { kind, at, length, text: insert } of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 'delete') out = out.slice(0, i) + out.slice(i + length);
    else if (kind === 'insert') out = out.slice(0, i) + insert + out.slice(i);
    else if (kind === 'replace') out = out.slice(0, i) + insert + out.slice(i + insert.length);
    else if (kind === 'truncate') out = out.slice(0, i);
    else out = out.slice(0, i) + out.slice(i, i + length) + out.slice(i);
  }
  return out;
}

/** A valid envelope's text after a few random edits, or with one field mutated. */
export const mutatedText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(validEnvelope.map(encodeEnvelope), fc.array(edit, { minLength: 1, maxLength: 4 }))
    .map(([text, edits]) => applyEdits(text, edits)),
  fieldMutated,
);

/** Any text frame a peer could send. */
export const textFrame: fc.Arbitrary<string> = fc.oneof(
  anyString(200),
  fc.json({ maxDepth: 4 }),
  envelopeShaped.map((v) => JSON.stringify(v)),
  mutatedText,
);
