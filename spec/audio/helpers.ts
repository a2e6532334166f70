import { from, type OperatorFunction } from 'rxjs';
import type { AudioChunk } from '../../src/audio/index';

/** Runs chunks through an operator synchronously and returns what came out. */
export function run<T>(chunks: AudioChunk[], op: OperatorFunction<AudioChunk, T>): T[] {
  const out: T[] = [];
  let completed = false;
  from(chunks)
    .pipe(op)
    .subscribe({ next: (c) => out.push(c), complete: () => (completed = true) });
  expect(completed).toBe(true);
  return out;
}

/** A float sine at `hz`, `n` frames long, at `rate`. */
export function tone(hz: number, rate: number, n: number, amplitude = 0.5): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate),
  );
}

/** Splits interleaved samples into chunks of the given sizes (in frames), cycling through them. */
export function split(
  samples: Int16Array | Float32Array,
  sizes: number[],
  sampleRate: number,
  channels = 1,
  t0 = 1_000_000,
): AudioChunk[] {
  const chunks: AudioChunk[] = [];
  let at = 0;
  for (let k = 0; at < samples.length; k++) {
    const frames = sizes[k % sizes.length]!;
    const end = Math.min(samples.length, at + frames * channels);
    chunks.push({
      samples: samples.slice(at, end),
      sampleRate,
      channels,
      seq: k,
      timestamp: t0 + (at / channels / sampleRate) * 1000,
    });
    at = end;
  }
  return chunks;
}

/** Concatenates the samples of chunks. */
export function concat(chunks: AudioChunk[]): Float32Array {
  const n = chunks.reduce((s, c) => s + c.samples.length, 0);
  const out = new Float32Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c.samples, at);
    at += c.samples.length;
  }
  return out;
}

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

/** Magnitude of the DFT of x at frequency hz. */
export function dftMagnitude(x: ArrayLike<number>, hz: number, rate: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    const a = (2 * Math.PI * hz * i) / rate;
    re += x[i]! * Math.cos(a);
    im -= x[i]! * Math.sin(a);
  }
  return Math.hypot(re, im) / x.length;
}

/** One chunk of samples (seq 0) at `timestamp`. */
export function makeChunk(
  samples: Int16Array | Float32Array,
  sampleRate: number,
  channels = 1,
  timestamp = 0,
): AudioChunk {
  return { samples, sampleRate, channels, seq: 0, timestamp };
}
