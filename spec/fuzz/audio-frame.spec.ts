// Property-based tests of the binary audio frame codec
// (src/protocol/audio-frame.ts), which the server runs on every binary frame
// a client sends: random bytes and mutated valid frames decode exactly as
// docs/PROTOCOL.md §11 says (a chunk, or ProtocolError
// RXWIRE_BAD_BINARY_FRAME, nothing else), and every valid chunk survives
// encode → decode bit for bit.
import fc from 'fast-check';
import {
  decodeAudioFrame,
  encodeAudioFrame,
  ProtocolError,
  readAudioFrame,
} from '../../src/protocol/index.js';
import type { AudioChunk } from '../../src/audio/index.js';
import { documentedAudioFrame } from '../helpers/protocol-model.js';

const runs = { numRuns: 2_000 };

/** What the decoder made of `bytes`, in the shape of {@link documentedAudioFrame}. */
function decoded(bytes: Uint8Array) {
  let chunk: AudioChunk;
  try {
    chunk = decodeAudioFrame(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('RXWIRE_BAD_BINARY_FRAME');
    return null;
  }
  const { samples, ...header } = chunk;
  return {
    ...header,
    samples: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength).slice(),
    type: samples.constructor.name,
  };
}

/** A valid chunk: 1–4 channels, whole frames of pcm16 or float32 samples (any bit pattern). */
const validChunk: fc.Arbitrary<AudioChunk> = fc
  .record({
    channels: fc.integer({ min: 1, max: 4 }),
    frames: fc.nat(40),
    float: fc.boolean(),
    sampleRate: fc.integer({ min: 1, max: 768_000 }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    streamId: fc.integer({ min: 0, max: 0xffffffff }),
    timestamp: fc.double({ noNaN: true, noDefaultInfinity: true }),
    seed: fc.uint8Array({ minLength: 4 * 4 * 40, maxLength: 4 * 4 * 40 }),
  })
  .map(({ channels, frames, float, seed, ...rest }) => {
    const count = channels * frames;
    const samples = float
      ? new Float32Array(seed.buffer, 0, count) // any bit pattern, NaNs included
      : new Int16Array(seed.buffer, 0, count);
    return { ...rest, channels, samples };
  });

/** A view into a larger buffer at an odd offset, as a Node Buffer slice can be. */
const atOffset = (bytes: Uint8Array, offset: number): Uint8Array => {
  const host = new Uint8Array(bytes.length + offset + 3);
  host.set(bytes, offset);
  return host.subarray(offset, offset + bytes.length);
};

describe('audio frames', () => {
  it('decodes random bytes as §11 says: a chunk or RXWIRE_BAD_BINARY_FRAME', () => {
    const frameLike = fc
      .tuple(
        fc.constantFrom(1, 1, 1, 0, 2, 255),
        fc.constantFrom(1, 2, 0, 3),
        fc.nat(255),
        fc.uint8Array({ minLength: 21, maxLength: 21 }),
        fc.uint8Array({ maxLength: 64 }),
      )
      .map(([v, e, c, rest, samples]) => Uint8Array.from([v, e, c, ...rest, ...samples]));
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 80 }), frameLike),
        fc.nat(7),
        (bytes, offset) => {
          const view = atOffset(bytes, offset);
          expect(decoded(view)).toEqual(documentedAudioFrame(view));
        },
      ),
      runs,
    );
  });

  it('decodes mutated valid frames as §11 says', () => {
    const mutated = fc
      .tuple(
        validChunk.map(encodeAudioFrame),
        fc.array(fc.record({ at: fc.nat(), byte: fc.nat(255) }), { maxLength: 4 }),
        fc.oneof(fc.constant(undefined), fc.nat()),
        fc.uint8Array({ maxLength: 7 }),
      )
      .map(([frame, flips, cut, tail]) => {
        const out = Uint8Array.from([...frame, ...tail]);
        for (const { at, byte } of flips) out[at % out.length] = byte;
        return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        expect(decoded(bytes)).toEqual(documentedAudioFrame(bytes));
      }),
      runs,
    );
  });

  it('round-trips every valid chunk bit for bit', () => {
    fc.assert(
      fc.property(validChunk, fc.nat(7), (chunk, offset) => {
        const frame = encodeAudioFrame(chunk);
        expect(frame.length).toBe(24 + chunk.samples.byteLength);
        const out = decodeAudioFrame(atOffset(frame, offset));
        expect(out.samples.constructor).toBe(chunk.samples.constructor);
        const bytes = (a: Int16Array | Float32Array) =>
          Buffer.from(a.buffer, a.byteOffset, a.byteLength);
        expect(bytes(out.samples).equals(bytes(chunk.samples))).toBe(true);
        expect({ ...out, samples: null }).toEqual({ ...chunk, samples: null });
      }),
      runs,
    );
  });

  it('decodes the same into pooled memory, aligned or not', () => {
    fc.assert(
      fc.property(validChunk, fc.nat(7), (chunk, misalign) => {
        const frame = encodeAudioFrame(chunk);
        const pooled = readAudioFrame(frame, (n) =>
          new Uint8Array(n + 8).subarray(misalign, misalign + n),
        );
        const fresh = decodeAudioFrame(frame);
        expect(
          Buffer.from(pooled.samples.buffer, pooled.samples.byteOffset, pooled.samples.byteLength),
        ).toEqual(
          Buffer.from(fresh.samples.buffer, fresh.samples.byteOffset, fresh.samples.byteLength),
        );
      }),
      runs,
    );
  });
});
