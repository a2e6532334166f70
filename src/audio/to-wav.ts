import { ErrorCode, RxwireTypeError } from '../protocol/errors.js';
import { float32ToPcm16 } from './to-pcm16.js';
import { pcm16ToFloat32 } from './to-float32.js';
import type { AudioChunk } from './types.js';

/** Options of {@link toWav}. */
export interface ToWavConfig {
  /**
   * Sample format of the file: PCM 16-bit (format tag 1) or IEEE float 32-bit
   * (format tag 3). Chunks of the other type are converted as by
   * {@link toPcm16} / {@link toFloat32}.
   * @default the sample type of the first chunk
   */
  format?: 'pcm16' | 'float32';
  /** Sample rate written when `chunks` is empty (otherwise taken from the chunks). */
  sampleRate?: number;
  /** Channel count written when `chunks` is empty. @default 1 */
  channels?: number;
}

/**
 * Writes chunks as a RIFF/WAVE file, concatenating their samples in order:
 * `Int16Array` chunks as PCM 16-bit (format tag 1, 44-byte header), float
 * chunks as IEEE float 32-bit (format tag 3, with the 18-byte `fmt ` and the
 * `fact` chunk that non-PCM files carry, 58-byte header). All chunks must
 * share `sampleRate` and `channels` (an `RxwireTypeError` otherwise). To
 * write an Observable, collect it first: `chunks$.pipe(toArray(), map((c) => toWav(c)))`.
 * Works in browsers too; only `fromWav` with a path needs Node.
 *
 * @example
 * ```ts
 * const wav = toWav(await firstValueFrom(session.audio$.pipe(takeUntil(stop$), toArray())));
 * await writeFile('call.wav', wav);
 * ```
 */
export function toWav(chunks: Iterable<AudioChunk>, config: ToWavConfig = {}): Uint8Array {
  const list = Array.from(chunks);
  const first = list[0];
  const sampleRate = first?.sampleRate ?? config.sampleRate;
  const channels = first?.channels ?? config.channels ?? 1;
  const format =
    config.format ?? (first && first.samples instanceof Int16Array ? 'pcm16' : 'float32');
  if (sampleRate === undefined) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'toWav: no chunks and no sampleRate option, so the rate is unknown',
    );
  }
  if (!(Number.isInteger(sampleRate) && sampleRate > 0 && sampleRate <= 0xffffffff)) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, `toWav: bad sampleRate ${sampleRate}`);
  }
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= 0xffff)) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, `toWav: bad channels ${channels}`);
  }
  let total = 0;
  for (const c of list) {
    if (c.sampleRate !== sampleRate || c.channels !== channels) {
      throw new RxwireTypeError(
        ErrorCode.InvalidOption,
        `toWav: chunk seq ${c.seq} is ${c.sampleRate} Hz x ${c.channels} channels, ` +
          `the first chunk ${sampleRate} Hz x ${channels}`,
      );
    }
    total += c.samples.length;
  }

  const float = format === 'float32';
  const bytesPerSample = float ? 4 : 2;
  const dataBytes = total * bytesPerSample;
  const header = float ? 58 : 44;
  if (header - 8 + dataBytes > 0xffffffff) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, 'toWav: more than 4 GiB of audio');
  }
  const out = new Uint8Array(header + dataBytes + (dataBytes & 1));
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, float ? 18 : 16, true);
  v.setUint16(20, float ? 3 : 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * bytesPerSample, true);
  v.setUint16(32, channels * bytesPerSample, true);
  v.setUint16(34, bytesPerSample * 8, true);
  let at = 36;
  if (float) {
    v.setUint16(36, 0, true); // cbSize
    ascii(38, 'fact');
    v.setUint32(42, 4, true);
    v.setUint32(46, total / channels, true);
    at = 50;
  }
  ascii(at, 'data');
  v.setUint32(at + 4, dataBytes, true);
  at += 8;
  for (const c of list) {
    if (float) {
      const s = c.samples instanceof Float32Array ? c.samples : pcm16ToFloat32(c.samples);
      for (let i = 0; i < s.length; i++, at += 4) v.setFloat32(at, s[i]!, true);
    } else {
      const s = c.samples instanceof Int16Array ? c.samples : float32ToPcm16(c.samples);
      for (let i = 0; i < s.length; i++, at += 2) v.setInt16(at, s[i]!, true);
    }
  }
  return out;
}
