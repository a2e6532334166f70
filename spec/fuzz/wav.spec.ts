// Property-based tests of the WAV reader (`fromWav`, src/audio/from-wav.ts),
// which reads files a user picked or bytes a peer uploaded: random bytes and
// mutated valid files end in chunks or a WavError (RXWIRE_BAD_WAV), never
// another error; what toWav writes reads back bit for bit; and other RIFF
// chunks (odd sizes, padding) and the untrusted RIFF size change nothing.
import fc from 'fast-check';
import { fromWav, toWav, WavError, type AudioChunk } from '../../src/audio/index.js';

const runs = { numRuns: 1_000 };

/** Everything `fromWav(bytes)` emits, synchronously (no `realtime`). */
function read(bytes: Uint8Array): { chunks: AudioChunk[]; error?: unknown } {
  const chunks: AudioChunk[] = [];
  let error: unknown;
  let completed = false;
  fromWav(bytes, { frameMs: 7 }).subscribe({
    next: (chunk) => chunks.push(chunk),
    error: (e: unknown) => (error = e),
    complete: () => (completed = true),
  });
  expect(completed || error !== undefined).toBe(true);
  return error === undefined ? { chunks } : { chunks, error };
}

/** The samples of `chunks` back to back, as bytes. */
const bytesOf = (chunks: readonly AudioChunk[]): Buffer =>
  Buffer.concat(
    chunks.map((c) => Buffer.from(c.samples.buffer, c.samples.byteOffset, c.samples.byteLength)),
  );

/**
 * One chunk of 1–3 channels of pcm16 samples (any value) or float32 ones
 * (any but NaN: the reader goes through JS numbers, which may quiet a NaN's
 * payload; -0, subnormals and infinities come back exact).
 */
const audio = fc
  .record({
    float: fc.boolean(),
    channels: fc.integer({ min: 1, max: 3 }),
    sampleRate: fc.integer({ min: 1, max: 192_000 }),
    ints: fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 96 }),
    floats: fc.array(fc.float({ noNaN: true }), { maxLength: 96 }),
  })
  .map(({ float, channels, sampleRate, ints, floats }): AudioChunk => {
    const values = float ? floats : ints;
    const whole = values.slice(0, values.length - (values.length % channels));
    return {
      samples: float ? Float32Array.from(whole) : Int16Array.from(whole),
      channels,
      sampleRate,
      seq: 0,
      timestamp: 0,
    };
  });

/** A RIFF chunk the reader must skip: any id but `fmt ` and `data`, any size, padded to even. */
const otherChunk = fc
  .tuple(
    fc.constantFrom('LIST', 'fact', 'cue ', 'junk', 'bext', 'smpl'),
    fc.uint8Array({ maxLength: 13 }),
  )
  .map(([id, body]) => {
    const out = Buffer.alloc(8 + body.length + (body.length & 1));
    out.write(id, 0, 'latin1');
    out.writeUInt32LE(body.length, 4);
    out.set(body, 8);
    return out;
  });

/** Splits a file toWav wrote into its RIFF chunks (after the 12-byte header). */
function riffChunks(wav: Uint8Array): Buffer[] {
  const bytes = Buffer.from(wav);
  const out: Buffer[] = [];
  for (let at = 12; at + 8 <= bytes.length;) {
    const size = bytes.readUInt32LE(at + 4);
    const end = at + 8 + size + (size & 1);
    out.push(bytes.subarray(at, end));
    at = end;
  }
  return out;
}

describe('fromWav', () => {
  it('ends every byte string in chunks or a WavError, nothing else', () => {
    const riffish = fc
      .tuple(fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ maxLength: 4 }))
      .map(([rest, size]) =>
        Buffer.concat([Buffer.from('RIFF'), Buffer.from(size), Buffer.from('WAVE'), rest]),
      );
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), riffish), (bytes) => {
        const { error } = read(bytes);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(WavError);
          expect((error as WavError).code).toBe('RXWIRE_BAD_WAV');
        }
      }),
      runs,
    );
  });

  it('ends every mutated valid file in chunks or a WavError, and any chunks it emits are whole frames', () => {
    const mutated = fc
      .tuple(
        audio.map((chunk) => toWav([chunk])),
        fc.array(fc.record({ at: fc.nat(), byte: fc.nat(255) }), { maxLength: 6 }),
        fc.option(fc.nat()),
      )
      .map(([wav, flips, cut]) => {
        const out = Uint8Array.from(wav);
        for (const { at, byte } of flips) out[at % Math.min(out.length, 80)] = byte; // mostly the headers
        return cut === null ? out : out.subarray(0, cut % (out.length + 1));
      });
    fc.assert(
      fc.property(mutated, (bytes) => {
        const { chunks, error } = read(bytes);
        if (error !== undefined) expect(error).toBeInstanceOf(WavError);
        for (const chunk of chunks) {
          expect(chunk.channels).toBeGreaterThanOrEqual(1);
          expect(chunk.sampleRate).toBeGreaterThanOrEqual(1);
          expect(chunk.samples.length % chunk.channels).toBe(0);
        }
      }),
      runs,
    );
  });

  it('reads back what toWav wrote, bit for bit', () => {
    fc.assert(
      fc.property(audio, (chunk) => {
        const { chunks, error } = read(toWav([chunk]));
        expect(error).toBeUndefined();
        expect(bytesOf(chunks).equals(bytesOf([chunk]))).toBe(true);
        for (const c of chunks) {
          expect(c).toMatchObject({ channels: chunk.channels, sampleRate: chunk.sampleRate });
          expect(c.samples.constructor).toBe(chunk.samples.constructor);
        }
      }),
      runs,
    );
  });

  it('skips other RIFF chunks wherever they are, and ignores the RIFF size', () => {
    fc.assert(
      fc.property(
        audio,
        fc.array(fc.tuple(fc.nat(2), otherChunk), { maxLength: 4 }),
        fc.constantFrom(0, 0xffffffff, 12345, undefined),
        (chunk, extras, riffSize) => {
          const wav = toWav([chunk]);
          const parts = riffChunks(wav); // fmt (and fact), data
          for (const [at, extra] of extras) parts.splice(at % (parts.length + 1), 0, extra);
          const body = Buffer.concat(parts);
          const header = Buffer.from(wav.subarray(0, 12));
          header.writeUInt32LE(riffSize ?? body.length + 4, 4);
          const { chunks, error } = read(Buffer.concat([header, body]));
          expect(error).toBeUndefined();
          expect(bytesOf(chunks).equals(bytesOf([chunk]))).toBe(true);
        },
      ),
      runs,
    );
  });
});
