import { firstValueFrom, pipe, toArray } from 'rxjs';
import { frames, resample, sine, toPcm16, type AudioChunk } from '../../src/audio/index';
import { concat, run, split } from './helpers';

const ramp = (n: number) => Int16Array.from({ length: n }, (_, i) => (i % 30000) - 15000);

describe('frames', () => {
  it('re-chunks 16 kHz mono into exact 320-sample frames, losing nothing', () => {
    const input = ramp(16000 + 123);
    const chunks = split(input, [1, 511, 320, 100, 1000, 7], 16000, 1, 2_000);
    const out = run(chunks, frames(20));
    expect(out.slice(0, -1).every((c) => c.samples.length === 320)).toBe(true);
    expect(out[out.length - 1]!.samples.length).toBe(123); // flush: 'partial'
    expect(out.every((c) => c.samples instanceof Int16Array)).toBe(true);
    expect(Array.from(concat(out))).toEqual(Array.from(input));
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    out.forEach((c, i) => expect(c.timestamp).toBeCloseTo(2_000 + i * 20, 9));
    expect(out[0]).toMatchObject({ sampleRate: 16000, channels: 1 });
  });

  it('times each frame from the input chunk its first sample came from', () => {
    const a: AudioChunk = {
      samples: ramp(480),
      sampleRate: 16000,
      channels: 1,
      seq: 0,
      timestamp: 0,
    };
    const b: AudioChunk = {
      samples: ramp(480),
      sampleRate: 16000,
      channels: 1,
      seq: 1,
      timestamp: 1000,
    };
    const out = run([a, b], frames(20));
    // frame 1 starts at sample 320 of a; frame 2 at sample 160 of b.
    expect(out.map((c) => c.timestamp)).toEqual([0, 20, 1010]);
  });

  it('handles interleaved stereo: 320 frames = 640 samples', () => {
    const input = Float32Array.from(
      { length: 2 * 16000 },
      (_, i) => (i % 2 ? -1 : 1) * (i / 32000),
    );
    const out = run(split(input, [333, 17, 900], 16000, 2), frames(20));
    expect(out.length).toBe(50);
    expect(out.every((c) => c.samples.length === 640 && c.channels === 2)).toBe(true);
    expect(out.every((c) => c.samples instanceof Float32Array)).toBe(true);
    expect(Array.from(concat(out))).toEqual(Array.from(input));
  });

  it("pads or drops the last partial frame when asked, and 'partial' emits it short", () => {
    const chunks = split(ramp(700), [700], 16000);
    const pad = run(chunks, frames({ ms: 20, flush: 'pad' }));
    expect(pad.map((c) => c.samples.length)).toEqual([320, 320, 320]);
    expect(Array.from(pad[2]!.samples.subarray(60))).toEqual(new Array(260).fill(0));
    expect(Array.from(pad[2]!.samples.subarray(0, 60))).toEqual(
      Array.from(ramp(700).subarray(640)),
    );
    expect(run(chunks, frames({ ms: 20, flush: 'drop' })).map((c) => c.samples.length)).toEqual([
      320, 320,
    ]);
    expect(run(chunks, frames(20)).map((c) => c.samples.length)).toEqual([320, 320, 60]);
  });

  it('starts over when the sample rate or channel count changes, seq still counting', () => {
    const a = split(ramp(500), [500], 16000)[0]!;
    const b = split(ramp(1000), [500], 48000, 2)[0]!;
    const out = run([a, b], frames(10));
    expect(out.map((c) => [c.sampleRate, c.channels, c.samples.length])).toEqual([
      [16000, 1, 160],
      [16000, 1, 160],
      [16000, 1, 160],
      [16000, 1, 20],
      [48000, 2, 960],
      [48000, 2, 40],
    ]);
    expect(out.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps streamId and rejects bad options', () => {
    const c = { ...split(ramp(320), [320], 16000)[0]!, streamId: 3 };
    expect(run([c], frames(20))[0]!.streamId).toBe(3);
    expect(() => frames(0)).toThrow(/ms/);
    expect(() => frames({ ms: 20, flush: 'x' as 'pad' })).toThrow(/flush/);
  });
});

describe('the microphone pipeline: resample(16000), toPcm16(), frames(20)', () => {
  it('turns 48 kHz float chunks of 128 samples into 320-sample PCM16 frames every 20 ms', async () => {
    const input = await firstValueFrom(
      sine(1000, { sampleRate: 48000, frameMs: 128 / 48, durationMs: 1000, realtime: false }).pipe(
        toArray(),
      ),
    );
    const out = run(input, pipe(resample(16000), toPcm16(), frames(20)));
    expect(out).toHaveLength(50);
    expect(out.every((c) => c.samples instanceof Int16Array && c.samples.length === 320)).toBe(
      true,
    );
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    out.forEach((c, i) => expect(c.timestamp - out[0]!.timestamp).toBeCloseTo(i * 20, 6));
  });
});
