import { decodeFrame, encodeEnvelope, clampReason, isReservedType } from '../../src/protocol/index';

describe('envelope codec', () => {
  it('round-trips an envelope', () => {
    const env = {
      type: 'chat',
      id: 'a.1',
      payload: { text: 'hé' },
      timestamp: '2026-11-22T10:00:00.000Z',
    };
    expect(decodeFrame(encodeEnvelope(env))).toEqual({ kind: 'envelope', envelope: env });
  });

  it('encodes every field as JSON.stringify would, escaping what needs it', () => {
    const full = {
      type: 'say "hi"\n',
      id: 'id"\\',
      payload: [1, 'two', { three: null }],
      timestamp: '2026-11-22T10:00:00.000Z',
      replyTo: 'r"\u2028',
      request: true as const,
      seq: 7,
      ack: 0,
      ackSoon: true as const,
    };
    expect(JSON.parse(encodeEnvelope(full))).toEqual(full);
    expect(decodeFrame(encodeEnvelope(full))).toEqual({ kind: 'envelope', envelope: full });
    const bare = encodeEnvelope({ type: 't', id: 'i', payload: undefined, timestamp: 'x' });
    expect(JSON.parse(bare)).toEqual({ type: 't', id: 'i', payload: null, timestamp: 'x' });
    expect(bare).not.toMatch(/seq|ack|replyTo|request/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeEnvelope({ type: 't', id: 'i', payload: cyclic, timestamp: 'x' })).toThrow(
      TypeError,
    );
  });

  it.each([
    ['{', 'RXWIRE_BAD_JSON'],
    ['null', 'RXWIRE_BAD_ENVELOPE'],
    ['"text"', 'RXWIRE_BAD_ENVELOPE'],
    ['[]', 'RXWIRE_BAD_ENVELOPE'],
    ['{"id":"1","timestamp":"t"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"","id":"1","timestamp":"t"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","timestamp":"t"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","id":1,"timestamp":"t"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","id":"1"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","id":"1","timestamp":"t","replyTo":5}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","id":"1","timestamp":"t","request":"yes"}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"x","id":"1","timestamp":"t","ackSoon":false}', 'RXWIRE_BAD_ENVELOPE'],
    ['{"type":"$nope","id":"1","timestamp":"t"}', 'RXWIRE_UNKNOWN_CONTROL'],
  ])('rejects %s with %s, never throwing', (text, code) => {
    const frame = decodeFrame(text);
    expect(frame.kind).toBe('invalid');
    expect(frame.kind === 'invalid' && frame.error.code).toBe(code);
  });

  it('keeps the id of a rejected envelope when it has one, for the $error replyTo', () => {
    const frame = decodeFrame('{"type":"x","id":"abc"}');
    expect(frame).toMatchObject({ kind: 'invalid', id: 'abc' });
  });

  it('survives deep nesting and huge strings', () => {
    expect(decodeFrame('['.repeat(100_000)).kind).toBe('invalid');
    const big = JSON.stringify({
      type: 't',
      id: '1',
      timestamp: 't',
      payload: 'x'.repeat(1_000_000),
    });
    expect(decodeFrame(big).kind).toBe('envelope');
  });

  it('passes binary frames through', () => {
    const buf = new Uint8Array([1, 2]).buffer;
    expect(decodeFrame(buf)).toEqual({ kind: 'binary', data: buf });
    const view = new DataView(new ArrayBuffer(4), 1, 2);
    const out = decodeFrame(view);
    expect(out.kind === 'binary' && out.data.byteLength).toBe(2);
  });

  it('reserves every $ type', () => {
    expect(isReservedType('$x')).toBe(true);
    expect(isReservedType('x$')).toBe(false);
  });
});

describe('clampReason', () => {
  it('keeps short reasons and clamps long ones under 123 bytes at a character boundary', () => {
    expect(clampReason('bye')).toBe('bye');
    const long = 'é'.repeat(200);
    const clamped = clampReason(long);
    expect(new TextEncoder().encode(clamped).length).toBeLessThanOrEqual(122);
    expect(clamped.endsWith('...')).toBe(true);
    expect(clamped).not.toContain('\uFFFD');
  });

  it('counts bytes as UTF-8 does (1 to 4 per character, a lone surrogate as 3), without TextEncoder', () => {
    expect(clampReason('a'.repeat(122))).toBe('a'.repeat(122));
    expect(clampReason('€'.repeat(40) + 'ab')).toHaveLength(42); // 122 bytes: kept
    for (const ch of ['a', 'é', '€', '😀', '\uD800']) {
      const clamped = clampReason(ch.repeat(130));
      const bytes = new TextEncoder().encode(clamped).length;
      expect(bytes).toBeLessThanOrEqual(122);
      expect(bytes).toBeGreaterThan(122 - 4); // cut at the last character that fits
      expect(clamped.endsWith('...')).toBe(true);
    }
  });
});
