import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, map, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { fromWav, sine, toWav, WavError, type AudioChunk } from '../../src/audio/index';
import { RxwireError } from '../../src/index';
import { concat, makeChunk } from './helpers';

const collect = (src: Observable<AudioChunk>) => firstValueFrom(src.pipe(toArray()));
const chunk = (samples: Int16Array | Float32Array, sampleRate: number, channels = 1) =>
  makeChunk(samples, sampleRate, channels, 0);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u16 = (n: number) => [n & 255, (n >> 8) & 255];

describe('toWav / fromWav', () => {
  it('round-trips PCM16 at 16 kHz bit-exactly, with a canonical 44-byte header', async () => {
    const samples = Int16Array.from(
      { length: 16000 * 3 + 17 },
      (_, i) => ((i * 7919) % 65536) - 32768,
    );
    const wav = toWav([chunk(samples.slice(0, 1000), 16000), chunk(samples.slice(1000), 16000)]);
    expect(wav.length).toBe(44 + samples.length * 2);
    const v = new DataView(wav.buffer);
    expect(v.getUint32(4, true)).toBe(wav.length - 8);
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint32(28, true)).toBe(32000);
    expect(v.getUint32(40, true)).toBe(samples.length * 2);
    const out = await collect(fromWav(wav));
    expect(out.slice(0, -1).every((c) => c.samples.length === 320)).toBe(true);
    expect(out.every((c) => c.samples instanceof Int16Array && c.sampleRate === 16000)).toBe(true);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    const back = Int16Array.from(concat(out));
    expect(Buffer.from(back.buffer).equals(Buffer.from(samples.buffer))).toBe(true);
  });

  it('round-trips float32 stereo at 48 kHz bit-exactly (format 3 with fact chunk)', async () => {
    const samples = Float32Array.from(
      { length: 2 * 48000 },
      (_, i) => Math.sin(i / 7) * 0.999 - 1e-9 * i,
    );
    samples[5] = -1;
    samples[6] = 3.5; // out-of-range floats survive too
    const wav = toWav([chunk(samples, 48000, 2)]);
    const v = new DataView(wav.buffer);
    expect(v.getUint16(20, true)).toBe(3);
    expect(String.fromCharCode(...wav.subarray(38, 42))).toBe('fact');
    expect(v.getUint32(46, true)).toBe(48000);
    const out = await collect(fromWav(wav.buffer as ArrayBuffer, { frameMs: 10 }));
    expect(out.length).toBe(100);
    expect(out[0]).toMatchObject({ channels: 2, sampleRate: 48000 });
    expect(out[0]!.samples.length).toBe(960);
    const back = concat(out);
    expect(Buffer.from(back.buffer).equals(Buffer.from(samples.buffer))).toBe(true);
  });

  it('converts to the requested format and writes empty files when told the rate', async () => {
    const f = toWav([chunk(new Int16Array([-32768, 16384]), 8000)], { format: 'float32' });
    expect(Array.from(concat(await collect(fromWav(f))))).toEqual([-1, 0.5]);
    const empty = toWav([], { sampleRate: 16000 });
    expect(empty.length).toBe(58);
    expect(await collect(fromWav(empty))).toEqual([]);
    expect(() => toWav([])).toThrow(/sampleRate/);
    expect(() => toWav([chunk(new Int16Array(2), 8000), chunk(new Int16Array(2), 16000)])).toThrow(
      /16000/,
    );
  });

  /** A hand-made file: WAVE_FORMAT_EXTENSIBLE, a LIST chunk before and an odd-sized chunk after. */
  const extensible = (subtype: number, bits: number, data: number[]) =>
    Uint8Array.from([
      ...ascii('RIFF'),
      ...u32(0xffffffff), // streaming writers leave this unset
      ...ascii('WAVE'),
      ...ascii('LIST'),
      ...u32(10),
      ...ascii('INFOISFT'),
      0x61,
      0x62,
      ...ascii('fmt '),
      ...u32(40),
      ...u16(0xfffe),
      ...u16(1),
      ...u32(22050),
      ...u32(22050 * (bits / 8)),
      ...u16(bits / 8),
      ...u16(bits),
      ...u16(22),
      ...u16(bits),
      ...u32(4),
      ...u16(subtype),
      ...[0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71],
      ...ascii('data'),
      ...u32(data.length),
      ...data,
      ...ascii('junk'),
      ...u32(3),
      1,
      2,
      3,
      0,
    ]);

  it('reads WAVE_FORMAT_EXTENSIBLE files and skips LIST and unknown chunks', async () => {
    const pcm = await collect(
      fromWav(extensible(1, 16, [...u16(1), ...u16(0xffff), ...u16(0x8000)])),
    );
    expect(pcm).toHaveLength(1);
    expect(pcm[0]).toMatchObject({ sampleRate: 22050, channels: 1, seq: 0 });
    expect(Array.from(pcm[0]!.samples)).toEqual([1, -1, -32768]);
    const flt = await collect(fromWav(extensible(3, 32, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xbf])));
    expect(flt[0]!.samples).toBeInstanceOf(Float32Array);
    expect(Array.from(flt[0]!.samples)).toEqual([1, -0.5]);
  });

  const patchedExt = () => {
    const b = extensible(1, 16, [0, 0]);
    b[12 + 18 + 8 + 24 + 5] = 0x42; // a byte inside the GUID
    return b;
  };
  const good = toWav([chunk(new Int16Array([1, 2, 3, 4]), 16000)]);
  const patched = (at: number, bytes: number[]) => {
    const b = good.slice();
    b.set(bytes, at);
    return b;
  };
  it.each([
    ['empty input', new Uint8Array(0), /only 0 bytes/],
    ['garbage', new TextEncoder().encode('this is not a wave file at all'), /RIFF\/WAVE/],
    ['a truncated data chunk', good.subarray(0, good.length - 1), /truncated/],
    ['a truncated header', good.subarray(0, 30), /fmt/],
    ['no data chunk', good.subarray(0, 36), /no data/],
    ['8-bit PCM', patched(34, u16(8)), /unsupported sample format/],
    ['A-law (format 6)', patched(20, u16(6)), /unsupported sample format/],
    ['a bad blockAlign', patched(32, u16(4)), /blockAlign/],
    ['an extensible ADPCM subtype', extensible(2, 16, [0, 0]), /unsupported sample format: tag 2/],
    ['an unknown extensible GUID', patchedExt(), /subtype/],
    ['half a sample frame', extensible(1, 16, [0, 0, 1]), /whole/],
  ])('rejects %s with a WavError (RXWIRE_BAD_WAV)', async (_, bytes, message) => {
    const error = await collect(fromWav(bytes)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WavError);
    expect(error).toBeInstanceOf(RxwireError);
    expect(error).toMatchObject({ code: 'RXWIRE_BAD_WAV', name: 'WavError' });
    expect((error as Error).message).toMatch(message);
  });

  describe('from a path', () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'rxwire-wav-'))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the file when subscribed', async () => {
      const path = join(dir, 'tone.wav');
      const chunks = await collect(
        sine(440, { realtime: false, durationMs: 100, format: 'pcm16' }),
      );
      writeFileSync(path, toWav(chunks));
      const out = await collect(fromWav(path, { streamId: 2 }));
      expect(out).toHaveLength(5);
      expect(out.every((c) => c.streamId === 2)).toBe(true);
      expect(Array.from(concat(out))).toEqual(Array.from(concat(chunks)));
    });

    it('errors through the Observable for a missing file', async () => {
      const error = await collect(fromWav(join(dir, 'missing.wav'))).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ENOENT' });
    });

    it('says to pass bytes where there is no Node fs', async () => {
      const original = process.getBuiltinModule;
      (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
      try {
        const error = await collect(fromWav('x.wav')).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'RXWIRE_INVALID_OPTION' });
        expect((error as Error).message).toMatch(/pass the bytes/);
      } finally {
        process.getBuiltinModule = original;
      }
    });
  });

  it('paces chunks in real time on the scheduler, timestamped from its clock', () => {
    const wav = toWav([chunk(new Int16Array(16000 * 0.05), 16000)]); // 50 ms
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ expectObservable }) => {
      const src = fromWav(wav, { realtime: true }).pipe(
        map((c) => `${c.samples.length}@${c.timestamp}`),
      );
      expectObservable(src).toBe('20ms a 19ms b 9ms (c|)', {
        a: '320@0',
        b: '320@20',
        c: '160@40',
      });
    });
  });
});
