import { Observable } from 'rxjs';
import { ErrorCode, RxwireError, RxwireTypeError } from '../protocol/errors.js';
import { AudioClock, captureLatencyMs } from './microphone-clock.js';
import { MicrophoneError, describe, mapMediaError } from './microphone-errors.js';

export { MicrophoneError, type MicrophoneErrorCode } from './microphone-errors.js';
import {
  MICROPHONE_PROCESSOR_NAME,
  microphoneWorkletSource,
  type MicrophoneProcessorMessage,
  type MicrophoneProcessorOptions,
} from './microphone-worklet.js';
import type { AudioChunk } from './types.js';

/** Options of {@link fromMicrophone}. */
export interface MicrophoneOptions {
  /**
   * Rate of the emitted chunks, in Hz. When it differs from the AudioContext's
   * rate (the device's, usually 44100 or 48000), the worklet resamples with a
   * windowed-sinc low-pass, so nothing above the new Nyquist aliases.
   * @default the AudioContext's rate (no resampling)
   */
  sampleRate?: number;
  /** Duration of each chunk, in ms; every chunk holds exactly `round(sampleRate * frameMs / 1000)` samples per channel. @default 20 */
  frameMs?: number;
  /** Capture from this device (`MediaDeviceInfo.deviceId`, as an `exact` constraint). @default the browser's default microphone */
  deviceId?: string;
  /**
   * Extra audio track constraints for `getUserMedia`, for example
   * `{ echoCancellation: false, noiseSuppression: false }`. `deviceId` wins over
   * a `deviceId` given here. @default none (the browser's defaults)
   */
  constraints?: MediaTrackConstraints;
  /** Channels per chunk, interleaved: 1 averages the device's channels to mono. @default 1 */
  channels?: number;
  /**
   * URL of the worklet module (the text of `microphoneWorkletSource`, served as
   * JavaScript). Give it when a Content Security Policy forbids `blob:` scripts.
   * @default a Blob URL made from `microphoneWorkletSource`
   */
  workletUrl?: string;
}

interface Resources {
  stream?: MediaStream;
  context?: AudioContext;
  source?: MediaStreamAudioSourceNode;
  node?: AudioWorkletNode;
  blobUrl?: string;
}

/**
 * Captures the microphone as a stream of Float32 {@link AudioChunk}s of
 * `frameMs` each (browser only): `getUserMedia`, then an `AudioContext` whose
 * AudioWorklet downmixes, resamples to `sampleRate` and cuts exact frames off
 * the audio thread. Resampling happens in the worklet because Firefox cannot
 * connect a microphone to an AudioContext running at another rate.
 *
 * - `seq` counts chunks from 0; `timestamp` is the capture time of the first
 *   sample in ms since the epoch, from the audio clock (consecutive chunks are
 *   exactly `frameMs` apart), mapped to wall time with `getOutputTimestamp()`
 *   and corrected for the reported latencies where the browser reports them.
 * - Subscribe from a user gesture (a click): browsers start an AudioContext
 *   created without one suspended; `fromMicrophone` calls `resume()`, but
 *   until the page has had a gesture no chunks flow.
 * - Each subscription asks for its own stream and context. Unsubscribing
 *   stops the tracks, disconnects the nodes, closes the AudioContext and
 *   revokes the worklet's Blob URL. The Observable completes when the track
 *   ends (device unplugged, capture stopped by the browser).
 * - Errors are {@link MicrophoneError}s: `RXWIRE_MIC_PERMISSION_DENIED`
 *   (NotAllowedError), `RXWIRE_MIC_NOT_FOUND` (NotFoundError, OverconstrainedError),
 *   `RXWIRE_MIC_UNSUPPORTED` (no `mediaDevices`, no AudioWorklet, insecure
 *   context: `getUserMedia` needs https or localhost), `RXWIRE_MIC_FAILED`
 *   (the device is busy or broke, or the worklet failed). Invalid options throw
 *   an `RxwireTypeError` (`RXWIRE_INVALID_OPTION`) at the call.
 * - The worklet module is loaded from a Blob URL, so a Content Security Policy
 *   must allow `blob:` in `script-src` (or `worker-src`, per browser); or serve
 *   `microphoneWorkletSource` yourself and pass its URL as `workletUrl`.
 *
 * @example
 * ```ts
 * import { fromMicrophone, resample, toPcm16, frames } from 'rxwire/audio';
 *
 * let mic: Subscription | undefined;
 * talkButton.onclick = () => {
 *   mic = fromMicrophone({ sampleRate: 16000 })
 *     .pipe(toPcm16())
 *     .subscribe({
 *       next: (chunk) => client.audio.next(chunk),
 *       error: (e) => showError(e.code === 'RXWIRE_MIC_PERMISSION_DENIED' ? 'Allow the microphone' : e.message),
 *     });
 * };
 * stopButton.onclick = () => mic?.unsubscribe();
 * ```
 */
export function fromMicrophone(options: MicrophoneOptions = {}): Observable<AudioChunk> {
  const frameMs = options.frameMs ?? 20;
  const channels = options.channels ?? 1;
  const requestedRate = options.sampleRate;
  if (!(typeof frameMs === 'number' && frameMs > 0 && Number.isFinite(frameMs))) {
    invalid(`'frameMs' must be a positive number (got ${String(frameMs)})`);
  }
  if (!(Number.isInteger(channels) && channels >= 1 && channels <= 32)) {
    invalid(`'channels' must be an integer from 1 to 32 (got ${String(channels)})`);
  }
  if (
    requestedRate !== undefined &&
    !(Number.isInteger(requestedRate) && requestedRate >= 1000 && requestedRate <= 768_000)
  ) {
    invalid(
      `'sampleRate' must be an integer from 1000 to 768000 Hz (got ${String(requestedRate)})`,
    );
  }
  if (requestedRate !== undefined && Math.round((requestedRate * frameMs) / 1000) < 1) {
    invalid(`'frameMs' (${frameMs}) holds no sample at ${requestedRate} Hz`);
  }

  return new Observable<AudioChunk>((subscriber) => {
    const held: Resources = {};
    let stopped = false;

    const fail = (error: unknown): void => {
      if (!stopped) subscriber.error(error);
    };

    const start = async (): Promise<void> => {
      const mediaDevices = (globalThis as { navigator?: Navigator }).navigator?.mediaDevices;
      const AudioContextCtor = (globalThis as { AudioContext?: typeof AudioContext }).AudioContext;
      const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext !== false;
      if (
        !secure ||
        typeof mediaDevices?.getUserMedia !== 'function' ||
        typeof AudioContextCtor !== 'function' ||
        typeof (globalThis as { AudioWorkletNode?: unknown }).AudioWorkletNode !== 'function'
      ) {
        throw new MicrophoneError(
          ErrorCode.MicUnsupported,
          secure
            ? 'microphone capture needs navigator.mediaDevices.getUserMedia, AudioContext and AudioWorklet, which this environment lacks'
            : 'microphone capture needs a secure context (https or localhost)',
        );
      }

      const audio: MediaTrackConstraints = { ...options.constraints };
      if (options.deviceId !== undefined) audio.deviceId = { exact: options.deviceId };
      if (channels > 1 && audio.channelCount === undefined)
        audio.channelCount = { ideal: channels };
      let stream: MediaStream;
      try {
        stream = await mediaDevices.getUserMedia({ audio, video: false });
      } catch (error) {
        throw mapMediaError(error);
      }
      held.stream = stream;
      if (stopped) return release(held);

      // Created after getUserMedia: Safari gives a context made before capture
      // starts a rate that can differ from the microphone's.
      const context = new AudioContextCtor({ latencyHint: 'interactive' });
      held.context = context;
      void context.resume().catch(() => undefined);
      if (!context.audioWorklet) {
        throw new MicrophoneError(
          ErrorCode.MicUnsupported,
          'this AudioContext has no audioWorklet (AudioWorklet needs a secure context)',
        );
      }
      const targetRate = requestedRate ?? context.sampleRate;
      const frameSamples = Math.round((targetRate * frameMs) / 1000);
      if (frameSamples < 1) {
        throw new RxwireTypeError(
          ErrorCode.InvalidOption,
          `'frameMs' (${frameMs}) holds no sample at ${targetRate} Hz`,
        );
      }

      let url = options.workletUrl;
      if (url === undefined) {
        url = URL.createObjectURL(
          new Blob([microphoneWorkletSource], { type: 'application/javascript' }),
        );
        held.blobUrl = url;
      }
      try {
        await context.audioWorklet.addModule(url);
      } catch (error) {
        throw new MicrophoneError(
          ErrorCode.MicFailed,
          `could not load the microphone worklet from ${options.workletUrl ?? 'a blob: URL (does a Content Security Policy forbid blob:? pass workletUrl)'}`,
          { cause: error },
        );
      } finally {
        revokeBlob(held);
      }
      if (stopped) return;

      const processorOptions: MicrophoneProcessorOptions = { targetRate, frameSamples, channels };
      const node = new AudioWorkletNode(context, MICROPHONE_PROCESSOR_NAME, {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions,
      });
      held.node = node;
      const inputLatencyMs = captureLatencyMs(stream);
      const clock = new AudioClock(context);
      let seq = 0;
      node.port.onmessage = (event: MessageEvent<MicrophoneProcessorMessage>) => {
        if (stopped) return;
        const { samples, time } = event.data;
        subscriber.next({
          samples,
          sampleRate: targetRate,
          channels,
          seq: seq++,
          timestamp: clock.toEpochMs(time) - inputLatencyMs,
        });
      };
      node.onprocessorerror = (event) =>
        fail(
          new MicrophoneError(ErrorCode.MicFailed, 'the microphone worklet failed', {
            cause: event,
          }),
        );
      for (const track of stream.getAudioTracks()) {
        track.addEventListener('ended', () => {
          if (!stopped) subscriber.complete();
        });
      }
      const source = context.createMediaStreamSource(stream);
      held.source = source;
      source.connect(node);
      // The node outputs silence; connecting it keeps it rendered in every browser.
      node.connect(context.destination);
    };

    start().catch((error: unknown) => {
      release(held);
      fail(
        error instanceof RxwireError || error instanceof RxwireTypeError
          ? error
          : new MicrophoneError(
              ErrorCode.MicFailed,
              `microphone capture failed: ${describe(error)}`,
              { cause: error },
            ),
      );
    });

    return () => {
      stopped = true;
      release(held);
    };
  });
}

function invalid(message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, message);
}

/** Frees whatever has been acquired so far; safe to call more than once. */
function release(held: Resources): void {
  const { node, source, stream, context } = held;
  delete held.node;
  delete held.source;
  delete held.stream;
  delete held.context;
  if (node) {
    node.port.onmessage = null;
    node.onprocessorerror = null;
    try {
      node.port.postMessage('stop');
      node.port.close();
      node.disconnect();
    } catch {
      // already disconnected
    }
  }
  if (source) {
    try {
      source.disconnect();
    } catch {
      // already disconnected
    }
  }
  if (stream) for (const track of stream.getTracks()) track.stop();
  if (context && context.state !== 'closed') void context.close().catch(() => undefined);
  revokeBlob(held);
}

function revokeBlob(held: Resources): void {
  if (held.blobUrl === undefined) return;
  URL.revokeObjectURL(held.blobUrl);
  delete held.blobUrl;
}
