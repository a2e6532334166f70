import { map, type OperatorFunction } from 'rxjs';
import type { AudioChunk } from './types.js';

/**
 * Converts PCM16 chunks (`Int16Array`) to float (`Float32Array`) by dividing
 * each sample by 32768, so -32768 becomes exactly -1 and 32767 becomes
 * 0.999969…; the conversion is exact and {@link toPcm16} undoes it bit for
 * bit. Chunks that are already float pass through unchanged (same object).
 *
 * @example
 * ```ts
 * session.audio$.pipe(toFloat32(), level()).subscribe(updateMeter);
 * ```
 */
export function toFloat32(): OperatorFunction<AudioChunk, AudioChunk> {
  return map((chunk) =>
    chunk.samples instanceof Float32Array
      ? chunk
      : { ...chunk, samples: pcm16ToFloat32(chunk.samples) },
  );
}

/** @internal PCM16 to float by dividing by 32768; see {@link toFloat32}. */
export function pcm16ToFloat32(x: Int16Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / 32768;
  return out;
}
