import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { ErrorCode, RxwireTypeError } from '../protocol/errors.js';
import { pace } from './pacing.js';
import type { AudioChunk } from './types.js';

/** Options of {@link sine}. */
export interface SineConfig {
  /** Sample rate in Hz. @default 16000 */
  sampleRate?: number;
  /** Duration of each chunk in ms (`round(frameMs * sampleRate / 1000)` samples). @default 20 */
  frameMs?: number;
  /** Peak amplitude, as a fraction of full scale. @default 0.5 // -6 dBFS peak */
  amplitude?: number;
  /** Total duration in ms; the last chunk may be shorter. Omit for an endless tone. @default Infinity */
  durationMs?: number;
  /** Sample type: `Int16Array` (`'pcm16'`) or `Float32Array` (`'float32'`). @default 'float32' */
  format?: 'pcm16' | 'float32';
  /** Interleaved channels, all carrying the same tone. @default 1 */
  channels?: number;
  /** `streamId` put on every chunk; omitted when not given. */
  streamId?: number;
  /**
   * Emit each chunk when it would have finished being captured (chunk k at
   * `(k + 1) * frameMs` after subscription), like a microphone. With `false`,
   * chunks are emitted synchronously on subscription, as fast as they are
   * consumed (pair an endless tone with `take`).
   * @default true
   */
  realtime?: boolean;
  /** Scheduler for pacing and for `now()`, the timestamp of the first sample. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/**
 * A test-signal source: a sine tone of `hz` hertz in chunks of `frameMs`, with
 * continuous phase across chunks, `seq` 0, 1, 2… and each chunk's `timestamp`
 * the time of its first sample (the scheduler's `now()` at subscription plus
 * the samples before it). Works under `TestScheduler.run`, where the default
 * `asyncScheduler` runs in virtual time.
 *
 * @example
 * ```ts
 * sine(440, { durationMs: 3000, format: 'pcm16' }).subscribe(client.audio);
 * ```
 */
export function sine(hz: number, config: SineConfig = {}): Observable<AudioChunk> {
  const {
    sampleRate = 16000,
    frameMs = 20,
    amplitude = 0.5,
    durationMs = Infinity,
    format = 'float32',
    channels = 1,
    realtime = true,
    scheduler = asyncScheduler,
  } = config;
  const bad = (what: string) => {
    throw new RxwireTypeError(ErrorCode.InvalidOption, `sine: ${what}`);
  };
  if (!(Number.isFinite(hz) && hz >= 0)) bad(`hz must be a finite number >= 0, got ${hz}`);
  if (!(Number.isInteger(sampleRate) && sampleRate > 0))
    bad(`sampleRate must be a positive integer`);
  if (!(Number.isInteger(channels) && channels >= 1)) bad(`channels must be a positive integer`);
  if (!(amplitude >= 0 && amplitude <= 1)) bad(`amplitude must be in [0, 1], got ${amplitude}`);
  if (!(durationMs >= 0)) bad(`durationMs must be >= 0, got ${durationMs}`);
  if (format !== 'pcm16' && format !== 'float32') bad(`format must be 'pcm16' or 'float32'`);
  const perFrame = Math.round((frameMs * sampleRate) / 1000);
  if (!(perFrame >= 1)) bad(`frameMs must be at least one sample, got ${frameMs}`);
  const total = Number.isFinite(durationMs)
    ? Math.round((durationMs * sampleRate) / 1000)
    : Infinity;
  const step = (2 * Math.PI * hz) / sampleRate;

  return new Observable<AudioChunk>((subscriber) =>
    pace(subscriber, scheduler, realtime, (k, start) => {
      const first = k * perFrame;
      const n = Math.min(perFrame, total - first);
      if (!(n > 0)) return null;
      const samples =
        format === 'pcm16' ? new Int16Array(n * channels) : new Float32Array(n * channels);
      const scale = format === 'pcm16' ? 32767 * amplitude : amplitude;
      for (let i = 0; i < n; i++) {
        const v = scale * Math.sin(step * (first + i));
        const s = format === 'pcm16' ? Math.round(v) : v;
        for (let c = 0; c < channels; c++) samples[i * channels + c] = s;
      }
      const chunk: AudioChunk = {
        samples,
        sampleRate,
        channels,
        seq: k,
        timestamp: start + (first * 1000) / sampleRate,
      };
      if (config.streamId !== undefined) chunk.streamId = config.streamId;
      return { chunk, endMs: ((first + n) * 1000) / sampleRate };
    }),
  );
}
