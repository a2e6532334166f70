'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Subscription, map, share, type Observable } from 'rxjs';
import { frames } from '../audio/frames.js';
import {
  fromMicrophone,
  MicrophoneError,
  type MicrophoneOptions,
} from '../audio/from-microphone.js';
import { level } from '../audio/level.js';
import { resample } from '../audio/resample.js';
import { toPcm16 } from '../audio/to-pcm16.js';
import type { AudioChunk } from '../audio/types.js';
import type { AudioCounts } from '../client/audio-sender.js';
import { ErrorCode, RxwireTypeError } from '../protocol/index.js';
import { useProvidedClient } from './provider.js';
import { RenderThrottle, throttleOption } from './render-throttle.js';
import { useLatest } from './use-latest.js';

/** Options of {@link useMicrophone}. */
export interface MicrophoneHookOptions extends Pick<
  MicrophoneOptions,
  'deviceId' | 'constraints' | 'channels' | 'workletUrl'
> {
  /** Rate of the audio sent, in Hz (`resample(sampleRate)`). @default 16000 */
  sampleRate?: number;
  /** Duration of each frame sent, in ms (`frames(frameMs)`); the microphone is read in chunks of the same length. @default 20 */
  frameMs?: number;
  /**
   * `streamId` on the frames, so the server tells streams apart
   * (`session.audioStream(id)`); a function is called at each `start()`, for
   * a new stream per start. @default 0 (no streamId on the frames)
   */
  streamId?: number | (() => number);
  /** `level` and `stats` render at most once per this many ms while the microphone runs. @default 100 */
  meterMs?: number;
}

/** Counters of the current (or last) microphone run. */
export interface MicrophoneStats {
  /** The stream id the frames carry. */
  streamId: number;
  /** Frames handed to `client.audio`. */
  frames: number;
  /** Frames the client sent as binary frames. */
  sent: number;
  /** Frames dropped because the client was not connected (audio is never queued). */
  droppedOffline: number;
  /** Frames dropped because the socket's send buffer was full. */
  droppedBackpressure: number;
}

/** What {@link useMicrophone} returns. `start` and `stop` are stable across renders. */
export interface MicrophoneHookResult {
  /** True from `start()` until `stop()`, an error or the end of the track. */
  active: boolean;
  /** Asks for the microphone and streams it. Call it from a click: browsers start audio only after a user gesture. */
  start(): void;
  /** Stops streaming and the microphone's tracks. */
  stop(): void;
  /** RMS level of the latest frame, in dBFS (-100 is silence), while active. */
  level: number | undefined;
  /**
   * Why the microphone stopped or never started: a `MicrophoneError`
   * (`RXWIRE_MIC_PERMISSION_DENIED`, `RXWIRE_MIC_NOT_FOUND`,
   * `RXWIRE_MIC_UNSUPPORTED`, `RXWIRE_MIC_FAILED`, also when the track ended),
   * or an `RxwireTypeError` for an invalid option. Cleared by `start()`.
   */
  error: MicrophoneError | RxwireTypeError | undefined;
  stats: MicrophoneStats;
}

interface Shown {
  active: boolean;
  level: number | undefined;
  error: MicrophoneError | RxwireTypeError | undefined;
  stats: MicrophoneStats;
}

const zero: AudioCounts = { sent: 0, droppedOffline: 0, droppedBackpressure: 0, invalid: 0 };

/**
 * The microphone into the provider's client: `start()` pipes
 * `fromMicrophone()` through `resample(sampleRate)`, `toPcm16()` and
 * `frames(frameMs)` into `client.audio`, with a level meter and counters.
 * `stop()`, an error and unmounting stop the tracks. Audio is real-time:
 * while offline frames are dropped and counted (`stats.droppedOffline`).
 *
 * @example
 * ```tsx
 * function Talk() {
 *   const mic = useMicrophone({ sampleRate: 16000 });
 *   return (
 *     <>
 *       <button onClick={mic.active ? mic.stop : mic.start}>{mic.active ? 'Stop' : 'Talk'}</button>
 *       <meter min={-60} max={0} value={mic.level ?? -60} />
 *       {mic.error?.code === 'RXWIRE_MIC_PERMISSION_DENIED' && <p>Allow the microphone</p>}
 *     </>
 *   );
 * }
 * ```
 */
export function useMicrophone(options: MicrophoneHookOptions = {}): MicrophoneHookResult {
  const client = useProvidedClient('useMicrophone');
  const latest = useLatest(options);
  const [shown, setShown] = useState<Shown>(() => ({
    active: false,
    level: undefined,
    error: undefined,
    stats: { streamId: 0, frames: 0, ...counts(zero, zero) },
  }));
  /** The run in progress; `end` stops it (once). */
  const running = useRef<{ end(error?: MicrophoneError | RxwireTypeError): void } | undefined>(
    undefined,
  );

  const stop = useCallback(() => running.current?.end(), []);

  const start = useCallback(() => {
    if (running.current !== undefined) return;
    const opts = latest.current;
    const streamId = (typeof opts.streamId === 'function' ? opts.streamId() : opts.streamId) ?? 0;
    const subscription = new Subscription();
    let frameCount = 0;
    let rms: number | undefined;
    let base: AudioCounts | undefined;
    let now: AudioCounts = zero;
    const stats = (): MicrophoneStats => ({
      streamId,
      frames: frameCount,
      ...counts(now, base ?? now),
    });
    let throttle: RenderThrottle;
    let chunks: Observable<AudioChunk>;
    try {
      throttle = new RenderThrottle(throttleOption('useMicrophone', opts.meterMs ?? 100), () =>
        setShown({ active: true, level: rms, error: undefined, stats: stats() }),
      );
      chunks = microphoneFrames(opts, streamId);
    } catch (error) {
      // Invalid options are refused at the call: shown, not thrown from a click handler.
      setShown((s) => ({ ...s, active: false, error: error as RxwireTypeError }));
      return;
    }
    let ended = false;
    const run = {
      end(error?: MicrophoneError | RxwireTypeError) {
        if (ended) return;
        ended = true;
        if (running.current === run) running.current = undefined;
        throttle.stop();
        subscription.unsubscribe(); // stops the tracks, closes the AudioContext
        setShown({ active: false, level: undefined, error, stats: stats() });
      },
    };
    running.current = run;
    setShown({ active: true, level: undefined, error: undefined, stats: stats() });
    subscription.add(
      client.audioStats$.subscribe((all) => {
        now = all.streams[streamId] ?? zero;
        base ??= now; // replayed at once: what this stream had sent before this run
        throttle.changed();
      }),
    );
    subscription.add(
      chunks.subscribe({
        // Real-time: while offline the client drops these (counted), never queues them.
        next: (chunk) => {
          client.audio.next(chunk);
          frameCount++;
          throttle.changed();
        },
        error: (error: unknown) => run.end(asMicrophoneError(error)),
        complete: () =>
          run.end(
            new MicrophoneError(
              ErrorCode.MicFailed,
              'the microphone stopped: its track ended (device unplugged, or capture stopped by the browser)',
            ),
          ),
      }),
    );
    subscription.add(
      chunks.pipe(level()).subscribe({
        next: ({ rms: db }) => (rms = db),
        error: () => undefined, // reported by the subscription above
      }),
    );
  }, [client, latest]);

  // Unmounting (or another client) stops the microphone.
  useEffect(() => () => running.current?.end(), [client]);

  return { ...shown, start, stop };
}

/** `fromMicrophone()` → `resample` → `toPcm16` → `frames`, tagged with `streamId`, shared. */
function microphoneFrames(
  options: MicrophoneHookOptions,
  streamId: number,
): Observable<AudioChunk> {
  const {
    sampleRate = 16_000,
    frameMs = 20,
    deviceId,
    constraints,
    channels,
    workletUrl,
  } = options;
  const source: MicrophoneOptions = { frameMs };
  if (deviceId !== undefined) source.deviceId = deviceId;
  if (constraints !== undefined) source.constraints = constraints;
  if (channels !== undefined) source.channels = channels;
  if (workletUrl !== undefined) source.workletUrl = workletUrl;
  return fromMicrophone(source).pipe(
    resample(sampleRate),
    toPcm16(),
    frames(frameMs),
    map((chunk) => (streamId === 0 ? chunk : { ...chunk, streamId })),
    share(),
  );
}

function counts(now: AudioCounts, base: AudioCounts): Omit<MicrophoneStats, 'streamId' | 'frames'> {
  return {
    sent: now.sent - base.sent,
    droppedOffline: now.droppedOffline - base.droppedOffline,
    droppedBackpressure: now.droppedBackpressure - base.droppedBackpressure,
  };
}

function asMicrophoneError(error: unknown): MicrophoneError | RxwireTypeError {
  if (error instanceof MicrophoneError || error instanceof RxwireTypeError) return error;
  return new MicrophoneError(
    ErrorCode.MicFailed,
    `the microphone failed: ${String((error as Error)?.message ?? error)}`,
    { cause: error },
  );
}
