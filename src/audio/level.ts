import { map, type OperatorFunction } from 'rxjs';
import { ErrorCode, RxwireTypeError } from '../protocol/errors.js';
import type { AudioChunk } from './types.js';

/** Options of {@link level}. */
export interface LevelConfig {
  /**
   * The lowest level reported, in dBFS: silence and anything quieter reads as
   * this. A finite default keeps levels JSON-safe (`-Infinity` serialises as
   * `null`); pass `-Infinity` to get the true value for digital silence.
   * @default -100
   */
  floor?: number;
}

/** The level of one chunk, as emitted by {@link level}. */
export interface AudioLevel {
  /** RMS level over all samples of all channels, in dBFS (a full-scale sine reads -3.01). */
  rms: number;
  /** Largest absolute sample, in dBFS (a full-scale sample reads 0). */
  peak: number;
  /** `seq` of the measured chunk. */
  seq: number;
  /** `timestamp` of the measured chunk. */
  timestamp: number;
  /** `streamId` of the measured chunk, when it has one. */
  streamId?: number;
}

/**
 * Measures each chunk for a level meter: RMS and peak in dBFS, where 0 dBFS
 * is full scale (1.0 for float samples, 32768 for PCM16). The RMS is plain
 * `20·log10(rms)`, not AES17-weighted, so a full-scale sine reads -3.01 dBFS.
 * Channels are measured together. Levels are clamped below at `floor`.
 *
 * @example
 * ```ts
 * session.audio$.pipe(level(), throttleTime(100)).subscribe(({ rms, peak }) => meter.set(rms, peak));
 * ```
 */
export function level(config: LevelConfig = {}): OperatorFunction<AudioChunk, AudioLevel> {
  const { floor = -100 } = config;
  if (typeof floor !== 'number' || Number.isNaN(floor)) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, `level: floor must be a number`);
  }
  const db = (amplitude: number) => {
    const v = amplitude > 0 ? 20 * Math.log10(amplitude) : -Infinity;
    return v > floor ? v : floor;
  };
  return map((chunk) => {
    const { samples } = chunk;
    const scale = samples instanceof Int16Array ? 1 / 32768 : 1;
    let sumSquares = 0;
    let peak = 0;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]!;
      sumSquares += x * x;
      const a = x < 0 ? -x : x;
      if (a > peak) peak = a;
    }
    const rms = samples.length > 0 ? Math.sqrt(sumSquares / samples.length) * scale : 0;
    const out: AudioLevel = {
      rms: db(rms),
      peak: db(peak * scale),
      seq: chunk.seq,
      timestamp: chunk.timestamp,
    };
    if (chunk.streamId !== undefined) out.streamId = chunk.streamId;
    return out;
  });
}
