import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { ErrorCode, RxwireError, RxwireTypeError } from '../protocol/errors.js';
import { pace } from './pacing.js';
import type { AudioChunk } from './types.js';

/** Options of {@link fromWav}. */
export interface FromWavConfig {
  /**
   * Pace the chunks like a live capture: chunk k is emitted on `scheduler`
   * when its last sample would have been recorded, `(k + 1) * frameMs` after
   * subscription. With `false` every chunk is emitted synchronously on
   * subscription.
   * @default false
   */
  realtime?: boolean;
  /** Duration of each chunk in ms; the last one may be shorter. @default 20 */
  frameMs?: number;
  /** `streamId` put on every chunk; omitted when not given. */
  streamId?: number;
  /** Scheduler for pacing and for `now()`, the timestamp of the first sample. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/**
 * The bytes are not a WAV file `fromWav` can read: not RIFF/WAVE, truncated,
 * missing `fmt ` or `data`, or a sample format other than PCM 16-bit and IEEE
 * float 32-bit. Code `RXWIRE_BAD_WAV`.
 */
export class WavError extends RxwireError {
  override name = 'WavError';
  constructor(message: string) {
    super(ErrorCode.BadWav, message);
  }
}

/** What a WAV file holds, decoded. */
interface WavData {
  samples: Int16Array | Float32Array;
  sampleRate: number;
  channels: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of the KSDATAFORMAT_SUBTYPE GUIDs for PCM and IEEE float. */
const SUBTYPE_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/**
 * Reads a WAV file and emits its samples as chunks of `frameMs`, numbered
 * `seq` 0, 1, 2…, each `timestamp` the scheduler's `now()` at subscription
 * plus the time of its first sample in the file. Reads PCM 16-bit (format
 * tag 1, giving `Int16Array` samples), IEEE float 32-bit (tag 3, giving
 * `Float32Array`) and `WAVE_FORMAT_EXTENSIBLE` with either subtype, any
 * channel count, skipping other RIFF chunks (`LIST`, `fact`, `cue `…).
 * Anything else errors with a {@link WavError} (`RXWIRE_BAD_WAV`).
 *
 * `source` is the file's bytes (works everywhere) or, in Node ≥ 20.16 only, a
 * path read when subscribed; a path in a browser errors with an
 * `RxwireTypeError` saying to pass bytes. Nothing is read or parsed until
 * subscription, so errors arrive through the Observable.
 *
 * @example
 * ```ts
 * fromWav('speech.wav', { realtime: true }).subscribe(client.audio);
 * ```
 */
export function fromWav(
  source: string | Uint8Array | ArrayBuffer,
  config: FromWavConfig = {},
): Observable<AudioChunk> {
  const { realtime = false, frameMs = 20, scheduler = asyncScheduler } = config;
  if (!(frameMs > 0 && Number.isFinite(frameMs))) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `fromWav: frameMs must be > 0, got ${frameMs}`,
    );
  }
  return new Observable<AudioChunk>((subscriber) => {
    let wav: WavData;
    try {
      wav = parseWav(typeof source === 'string' ? readFile(source) : toBytes(source));
    } catch (e) {
      subscriber.error(e);
      return;
    }
    const { samples, sampleRate, channels } = wav;
    const perFrame = Math.max(1, Math.round((frameMs * sampleRate) / 1000));
    const totalFrames = samples.length / channels;
    pace(subscriber, scheduler, realtime, (k, start) => {
      const first = k * perFrame;
      if (first >= totalFrames) return null;
      const end = Math.min(first + perFrame, totalFrames);
      const chunk: AudioChunk = {
        samples: samples.slice(first * channels, end * channels),
        sampleRate,
        channels,
        seq: k,
        timestamp: start + (first * 1000) / sampleRate,
      };
      if (config.streamId !== undefined) chunk.streamId = config.streamId;
      return { chunk, endMs: (end * 1000) / sampleRate };
    });
  });
}

function toBytes(source: Uint8Array | ArrayBuffer): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  throw new RxwireTypeError(
    ErrorCode.InvalidOption,
    'fromWav: source must be a path, a Uint8Array or an ArrayBuffer',
  );
}

/** Reads a file through Node's `fs` without importing it, so this module stays browser-safe. */
function readFile(path: string): Uint8Array {
  const fs =
    typeof process !== 'undefined' && typeof process.getBuiltinModule === 'function'
      ? process.getBuiltinModule('node:fs')
      : undefined;
  if (!fs) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      'fromWav: reading a path needs Node >= 20.16; in a browser, pass the bytes (Uint8Array or ArrayBuffer)',
    );
  }
  return fs.readFileSync(path);
}

/** Parses RIFF/WAVE bytes; throws {@link WavError}. */
function parseWav(bytes: Uint8Array): WavData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = (at: number) =>
    String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12) throw new WavError(`not a WAV file: only ${bytes.length} bytes`);
  if (id(0) !== 'RIFF' || id(8) !== 'WAVE')
    throw new WavError('not a WAV file: no RIFF/WAVE header');
  // The RIFF size is not trusted (streaming writers leave it 0 or 0xFFFFFFFF);
  // each chunk is checked against the bytes actually present.
  let fmt: {
    tag: number;
    channels: number;
    sampleRate: number;
    blockAlign: number;
    bits: number;
  } | null = null;
  let data: { at: number; size: number } | null = null;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const chunkId = id(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (chunkId === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw new WavError('truncated fmt chunk');
      let tag = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || view.getUint16(body + 16, true) < 22) {
          throw new WavError('WAVE_FORMAT_EXTENSIBLE fmt chunk is too short');
        }
        const validBits = view.getUint16(body + 18, true);
        if (validBits !== 0 && validBits !== bits) {
          throw new WavError(`unsupported: ${validBits} valid bits in ${bits}-bit containers`);
        }
        const guid = body + 24;
        if (SUBTYPE_TAIL.some((b, i) => bytes[guid + 2 + i] !== b) || bytes[guid + 1] !== 0) {
          throw new WavError('unsupported WAVE_FORMAT_EXTENSIBLE subtype');
        }
        tag = bytes[guid]!;
      }
      fmt = {
        tag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits,
      };
    } else if (chunkId === 'data') {
      if (body + size > bytes.length) {
        throw new WavError(
          `truncated: data chunk says ${size} bytes, ${bytes.length - body} present`,
        );
      }
      data = { at: body, size };
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new WavError('no fmt chunk');
  if (!data) throw new WavError('no data chunk');
  const { tag, channels, sampleRate, blockAlign, bits } = fmt;
  const pcm16 = tag === WAVE_FORMAT_PCM && bits === 16;
  const float32 = tag === WAVE_FORMAT_IEEE_FLOAT && bits === 32;
  if (!pcm16 && !float32) {
    throw new WavError(
      `unsupported sample format: tag ${tag}, ${bits} bits (only PCM 16-bit and float 32-bit)`,
    );
  }
  if (channels < 1 || sampleRate < 1) {
    throw new WavError(`bad fmt chunk: ${channels} channels at ${sampleRate} Hz`);
  }
  if (blockAlign !== (channels * bits) / 8) {
    throw new WavError(`bad fmt chunk: blockAlign ${blockAlign} for ${channels} x ${bits} bits`);
  }
  if (data.size % blockAlign !== 0) {
    throw new WavError(
      `truncated: data is ${data.size} bytes, not whole ${blockAlign}-byte frames`,
    );
  }
  const count = data.size / (bits / 8);
  if (pcm16) {
    const samples = new Int16Array(count);
    for (let i = 0; i < count; i++) samples[i] = view.getInt16(data.at + i * 2, true);
    return { samples, sampleRate, channels };
  }
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = view.getFloat32(data.at + i * 4, true);
  return { samples, sampleRate, channels };
}
