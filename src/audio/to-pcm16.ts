import { map, type OperatorFunction } from 'rxjs';
import type { AudioChunk } from './types.js';

/**
 * Converts float chunks (`Float32Array` in [-1, 1]) to PCM16 (`Int16Array`):
 * each sample is scaled by 32768, rounded to the nearest integer (ties away
 * from zero) and clipped to [-32768, 32767], so 1.0 becomes 32767 and -1.0
 * becomes -32768; NaN becomes 0. This is the exact inverse of
 * {@link toFloat32} for every PCM16 value. Chunks that are already PCM16 pass
 * through unchanged (same object).
 *
 * @example
 * ```ts
 * fromMicrophone().pipe(resample(16000), toPcm16()).subscribe(client.audio);
 * ```
 */
export function toPcm16(): OperatorFunction<AudioChunk, AudioChunk> {
  return map((chunk) =>
    chunk.samples instanceof Int16Array
      ? chunk
      : { ...chunk, samples: float32ToPcm16(chunk.samples) },
  );
}

/** @internal Float [-1, 1] to PCM16 with rounding and clipping; see {@link toPcm16}. */
export function float32ToPcm16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * 32768;
    out[i] =
      v >= 32767 ? 32767 : v <= -32768 ? -32768 : v >= 0 ? Math.floor(v + 0.5) : Math.ceil(v - 0.5);
  }
  return out;
}
