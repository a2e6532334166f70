import { resample } from '../../src/audio/index';
import { concat, dftMagnitude, rms, run, split, tone, makeChunk } from './helpers';

const chunk = (samples: Int16Array | Float32Array, sampleRate: number, channels = 1) =>
  makeChunk(samples, sampleRate, channels, 1_000_000);

describe('resample', () => {
  it('keeps a 1 kHz tone at 1 kHz going from 48 kHz to 16 kHz', () => {
    const out = concat(run([chunk(tone(1000, 48000, 48000), 48000)], resample(16000)));
    expect(out.length).toBe(16000);
    const body = out.subarray(1000, 15000);
    const at1k = dftMagnitude(body, 1000, 16000);
    expect(at1k).toBeGreaterThan(0.24); // amplitude 0.5 -> |X| = 0.25
    for (const hz of [500, 900, 1100, 2000, 3000]) {
      expect(dftMagnitude(body, hz, 16000)).toBeLessThan(at1k / 100);
    }
    // And the waveform itself: rising zero crossings 16 samples apart.
    const crossings: number[] = [];
    for (let i = 1; i < body.length; i++) if (body[i - 1]! < 0 && body[i]! >= 0) crossings.push(i);
    expect(crossings.length).toBe(14000 / 16);
    expect(Math.abs(rms(body) - 0.5 / Math.SQRT2)).toBeLessThan(0.005);
  });

  it('attenuates a 12 kHz tone by at least 40 dB going from 48 kHz to 16 kHz', () => {
    const input = tone(12000, 48000, 48000, 0.9);
    const out = concat(run(split(input, [960], 48000), resample(16000)));
    const inRms = rms(input);
    const outRms = rms(out, 500, out.length - 500); // past the filter's warm-up and tail
    const db = 20 * Math.log10(outRms / inRms);
    expect(db).toBeLessThan(-40);
  });

  it.each([
    [48000, 16000],
    [16000, 48000],
    [44100, 16000],
    [22050, 16000],
    [44101, 16000], // 16000 phases: interpolated polyphase table
  ])('gives the same output however %i -> %i input is chunked', (from, to) => {
    const n = Math.round(from * 0.37);
    const input = tone(440, from, n, 0.7);
    const whole = concat(run([chunk(input, from)], resample(to)));
    const pieces = concat(run(split(input, [1, 7, 333, 128, 2, 997], from), resample(to)));
    expect(pieces.length).toBe(whole.length);
    expect(Math.abs(whole.length - Math.round((n * to) / from))).toBeLessThanOrEqual(1);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - pieces[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // The tone survives intact in the middle.
    expect(Math.abs(rms(whole, 200, whole.length - 200) - 0.7 / Math.SQRT2)).toBeLessThan(0.01);
  });

  it('upsamples 16 kHz to 48 kHz without imaging', () => {
    const out = concat(run(split(tone(1000, 16000, 16000), [320], 16000), resample(48000)));
    expect(out.length).toBe(48000);
    const body = out.subarray(3000, 45000);
    expect(dftMagnitude(body, 1000, 48000)).toBeGreaterThan(0.24);
    // The images of 1 kHz sit at 15 and 17 kHz.
    expect(dftMagnitude(body, 15000, 48000)).toBeLessThan(0.25e-3);
    expect(dftMagnitude(body, 17000, 48000)).toBeLessThan(0.25e-3);
  });

  it('resamples interleaved stereo channel by channel', () => {
    const n = 4800;
    const left = tone(1000, 48000, n, 0.5);
    const right = tone(2000, 48000, n, 0.25);
    const stereo = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      stereo[2 * i] = left[i]!;
      stereo[2 * i + 1] = right[i]!;
    }
    const out = run(split(stereo, [480, 77], 48000, 2), resample(16000));
    const all = concat(out);
    expect(out.every((c) => c.channels === 2 && c.sampleRate === 16000)).toBe(true);
    const l = all.filter((_, i) => i % 2 === 0);
    const r = all.filter((_, i) => i % 2 === 1);
    const monoL = concat(run([chunk(left, 48000)], resample(16000)));
    const monoR = concat(run([chunk(right, 48000)], resample(16000)));
    expect(Array.from(l)).toEqual(Array.from(monoL));
    expect(Array.from(r)).toEqual(Array.from(monoR));
  });

  it('keeps PCM16 as PCM16, rounded and clipped, and float as float', () => {
    const f = Float32Array.from(tone(1000, 48000, 4800, 0.5));
    const i16 = Int16Array.from(f, (x) => Math.round(x * 32768));
    const outF = run([chunk(f, 48000)], resample(16000));
    const outI = run([chunk(i16, 48000)], resample(16000));
    expect(outF[0]!.samples).toBeInstanceOf(Float32Array);
    expect(outI[0]!.samples).toBeInstanceOf(Int16Array);
    const a = concat(outF);
    const b = concat(outI);
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(a[i]! * 32768 - b[i]!)).toBeLessThanOrEqual(1.5);
    const loud = run([chunk(new Int16Array(4800).fill(32767), 48000)], resample(16000));
    expect(Math.max(...concat(loud))).toBe(32767);
  });

  it('numbers output chunks and timestamps their first sample', () => {
    const input = split(tone(300, 48000, 9600), [960], 48000, 1, 5_000);
    const out = run(input, resample({ rate: 16000 }));
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    let samples = 0;
    for (const c of out) {
      expect(c.timestamp).toBeCloseTo(5_000 + (samples / 16000) * 1000, 6);
      samples += c.samples.length;
    }
    expect(samples).toBe(3200);
  });

  it('follows the input clock when input timestamps jump', () => {
    const a = split(tone(300, 48000, 4800), [4800], 48000, 1, 0)[0]!;
    const b = { ...a, seq: 1, timestamp: 60_000 }; // a gap after 100 ms
    const out = run([a, b], resample(16000));
    const last = out[out.length - 1]!;
    // The last output chunk starts inside b, so it is timed from b's timestamp.
    expect(last.timestamp).toBeGreaterThan(60_000);
    expect(last.timestamp).toBeLessThan(60_100);
  });

  it('passes chunks already at the target rate through, and restarts on a format change', () => {
    const a = chunk(tone(300, 16000, 320), 16000);
    const b = chunk(tone(300, 48000, 960), 48000);
    const out = run([a, b, a], resample(16000));
    expect(out[0]!.samples).toBe(a.samples);
    expect(out[out.length - 1]!.samples).toBe(a.samples);
    expect(out.map((c) => c.seq)).toEqual(out.map((_, i) => i));
    // b is resampled in full (its held-back tail flushed) before a comes through again.
    const fromB = out.slice(1, -1);
    expect(fromB.reduce((n, c) => n + c.samples.length, 0)).toBe(320);
    expect(fromB[0]!.timestamp).toBe(b.timestamp);
  });

  it('rejects bad options', () => {
    expect(() => resample(0)).toThrow(/rate/);
    expect(() => resample(16000.5)).toThrow(/rate/);
    expect(() => resample({ rate: 16000, rolloff: 1.5 })).toThrow(/rolloff/);
  });
});
