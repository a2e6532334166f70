import { Observable, type OperatorFunction } from 'rxjs';
import { ErrorCode, RxwireTypeError } from '../protocol/errors.js';
import type { AudioChunk } from './types.js';

/** Options of {@link frames}. */
export interface FramesConfig {
  /**
   * Duration of each output frame in milliseconds. The frame holds
   * `round(ms * sampleRate / 1000)` samples per channel (320 for 20 ms at 16 kHz).
   */
  ms: number;
  /**
   * What to do with a partial frame left over when the source completes or
   * the format changes: `'partial'` emits it short (nothing invented, nothing
   * lost), `'pad'` fills it up with silence to the full frame size, `'drop'`
   * discards it.
   * @default 'partial'
   */
  flush?: 'partial' | 'pad' | 'drop';
}

/**
 * Re-chunks audio into frames of an exact duration, carrying the remainder of
 * each input chunk over to the next: concatenating the output gives back the
 * input samples, none lost or repeated. Output frames are numbered `seq` 0,
 * 1, 2… by this operator, and each `timestamp` is that of its first sample,
 * computed from the timestamp of the input chunk it came from plus its offset
 * in that chunk. The sample type, rate, channel count and `streamId` are kept.
 *
 * A chunk whose `sampleRate`, `channels`, sample type or `streamId` differs
 * from the frame being filled ends that frame (handled as the `flush` option
 * says) and starts a new one; `seq` keeps counting. The same happens to the
 * last partial frame when the source completes.
 *
 * @example
 * ```ts
 * fromMicrophone().pipe(resample(16000), toPcm16(), frames(20)).subscribe(client.audio); // 320 samples each
 * ```
 */
export function frames(ms: number): OperatorFunction<AudioChunk, AudioChunk>;
export function frames(config: FramesConfig): OperatorFunction<AudioChunk, AudioChunk>;
export function frames(
  msOrConfig: number | FramesConfig,
): OperatorFunction<AudioChunk, AudioChunk> {
  const config = typeof msOrConfig === 'number' ? { ms: msOrConfig } : msOrConfig;
  const { ms, flush = 'partial' } = config;
  if (!(ms > 0 && Number.isFinite(ms))) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, `frames: ms must be > 0, got ${ms}`);
  }
  if (flush !== 'partial' && flush !== 'pad' && flush !== 'drop') {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `frames: flush must be 'partial', 'pad' or 'drop', got ${String(flush)}`,
    );
  }

  return (source) =>
    new Observable<AudioChunk>((subscriber) => {
      let seq = 0;
      /** The frame being filled, or null before the first chunk. */
      let pending: Int16Array | Float32Array | null = null;
      let fill = 0;
      let frameTs = 0;
      let format: Pick<AudioChunk, 'sampleRate' | 'channels' | 'streamId'> | null = null;

      const emit = (samples: Int16Array | Float32Array, timestamp: number) => {
        const f = format!;
        const out: AudioChunk = {
          samples,
          sampleRate: f.sampleRate,
          channels: f.channels,
          seq: seq++,
          timestamp,
        };
        if (f.streamId !== undefined) out.streamId = f.streamId;
        subscriber.next(out);
      };
      const flushPending = () => {
        if (pending && fill > 0 && flush !== 'drop') {
          emit(flush === 'pad' ? pending : pending.slice(0, fill), frameTs);
        }
        pending = null;
        fill = 0;
      };

      return source.subscribe({
        next: (chunk) => {
          const { samples, sampleRate, channels } = chunk;
          const isInt16 = samples instanceof Int16Array;
          if (
            !format ||
            format.sampleRate !== sampleRate ||
            format.channels !== channels ||
            format.streamId !== chunk.streamId ||
            (pending !== null && pending instanceof Int16Array !== isInt16)
          ) {
            flushPending();
            const perChannel = Math.round((ms * sampleRate) / 1000);
            if (!(perChannel >= 1) || !(channels >= 1)) {
              subscriber.error(
                new RxwireTypeError(
                  ErrorCode.InvalidOption,
                  `frames: ${ms} ms at ${sampleRate} Hz is less than one sample`,
                ),
              );
              return;
            }
            format = { sampleRate, channels };
            if (chunk.streamId !== undefined) format.streamId = chunk.streamId;
          }
          const size = Math.round((ms * sampleRate) / 1000) * channels;
          const msPerSample = 1000 / sampleRate / channels;
          const n = samples.length - (samples.length % channels);
          let at = 0;
          while (at < n) {
            if (fill === 0) {
              frameTs = chunk.timestamp + at * msPerSample;
              if (n - at >= size) {
                // A whole frame straight from the input: one copy, no staging.
                emit(samples.slice(at, at + size), frameTs);
                at += size;
                continue;
              }
              pending = isInt16 ? new Int16Array(size) : new Float32Array(size);
            }
            const take = Math.min(size - fill, n - at);
            pending!.set(samples.subarray(at, at + take), fill);
            fill += take;
            at += take;
            if (fill === size) {
              const full = pending!;
              pending = null;
              fill = 0;
              emit(full, frameTs);
            }
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          flushPending();
          subscriber.complete();
        },
      });
    });
}
