import type { AudioChunk } from '../audio/types.js';
import { ErrorCode, ProtocolError } from './errors.js';

/** Version of the binary audio frame layout (byte 0 of every frame). */
export const AUDIO_FRAME_VERSION = 1;
/** Size of the fixed header, in bytes; samples start at this offset. */
export const AUDIO_HEADER_BYTES = 24;

/** Sample encodings on the wire (byte 1 of the header). */
export const SampleEncoding = { pcm16le: 1, float32le: 2 } as const;
/** One of the {@link SampleEncoding} names. */
export type SampleEncodingName = keyof typeof SampleEncoding;

const MAX_SAMPLE_RATE = 768_000;
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes one chunk as a binary audio frame: a 24-byte little-endian header
 * (version, encoding, channels, flags, stream id, sequence number, sample rate,
 * capture timestamp) followed by the interleaved samples. `Int16Array` samples
 * go out as pcm16le, `Float32Array` as float32le. See docs/PROTOCOL.md.
 *
 * @example
 * ```ts
 * socket.send(encodeAudioFrame({ samples, sampleRate: 16000, channels: 1, seq: 7, timestamp: Date.now() }));
 * ```
 */
export function encodeAudioFrame(chunk: AudioChunk): Uint8Array {
  return writeAudioFrame(chunk, (bytes) => new Uint8Array(bytes));
}

/** Scratch for the timestamp's 8 bytes (written little-endian whatever the host). */
const float64 = new DataView(new ArrayBuffer(8));
const float64Bytes = new Uint8Array(float64.buffer);

/**
 * Encodes `chunk` like {@link encodeAudioFrame}, into the `Uint8Array` that
 * `allocate(byteLength)` returns (which may be a view into a larger buffer,
 * such as a pooled Node `Buffer`; it need not be zeroed). The client's audio
 * sender uses it to skip the zero-fill and the `DataView` of a fresh buffer.
 */
export function writeAudioFrame(
  chunk: AudioChunk,
  allocate: (byteLength: number) => Uint8Array,
): Uint8Array {
  const { samples, channels, sampleRate, seq } = chunk;
  const streamId = chunk.streamId ?? 0;
  const encoding =
    samples instanceof Int16Array ? SampleEncoding.pcm16le : SampleEncoding.float32le;
  checkField('channels', channels, 1, 255);
  checkField('sampleRate', sampleRate, 1, MAX_SAMPLE_RATE);
  checkField('seq', seq, 0, 0xffffffff);
  checkField('streamId', streamId, 0, 0xffffffff);
  if (samples.length % channels !== 0) {
    throw new TypeError(
      `samples.length (${samples.length}) is not a multiple of channels (${channels})`,
    );
  }
  const frame = allocate(AUDIO_HEADER_BYTES + samples.byteLength);
  frame[0] = AUDIO_FRAME_VERSION;
  frame[1] = encoding;
  frame[2] = channels;
  frame[3] = 0;
  putUint32(frame, 4, streamId);
  putUint32(frame, 8, seq);
  putUint32(frame, 12, sampleRate);
  float64.setFloat64(0, chunk.timestamp, true);
  for (let i = 0; i < 8; i++) frame[16 + i] = float64Bytes[i]!;
  if (littleEndianHost) {
    frame.set(
      new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
      AUDIO_HEADER_BYTES,
    );
  } else {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    for (let i = 0; i < samples.length; i++) {
      const at = AUDIO_HEADER_BYTES + i * samples.BYTES_PER_ELEMENT;
      if (encoding === SampleEncoding.pcm16le) view.setInt16(at, samples[i]!, true);
      else view.setFloat32(at, samples[i]!, true);
    }
  }
  return frame;
}

function getUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

function putUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
}

/**
 * Decodes a binary audio frame. Truncated or inconsistent frames (unknown
 * version or encoding, zero channels, a sample rate out of range, a payload
 * that is not whole frames of samples, a non-finite timestamp) throw a
 * {@link ProtocolError} with code `RXWIRE_BAD_BINARY_FRAME`. The samples are a
 * copy, so the caller's buffer can be reused.
 *
 * @example
 * ```ts
 * const chunk = decodeAudioFrame(new Uint8Array(event.data));
 * ```
 */
export function decodeAudioFrame(data: ArrayBuffer | ArrayBufferView): AudioChunk {
  return readAudioFrame(data);
}

/**
 * Decodes like {@link decodeAudioFrame}, copying the samples into the bytes
 * `allocate(byteLength)` returns when they are aligned for the sample type
 * (a Node `Buffer.allocUnsafe` slice is: the server passes it, so a frame
 * costs a slice of a shared pool instead of a fresh `ArrayBuffer`). The
 * samples then share their `ArrayBuffer` with other chunks, like any pooled
 * Node `Buffer`: read them through their own `byteOffset`/`byteLength`.
 */
export function readAudioFrame(
  data: ArrayBuffer | ArrayBufferView,
  allocate?: (byteLength: number) => Uint8Array,
): AudioChunk {
  const bytes =
    data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength < AUDIO_HEADER_BYTES) {
    bad(
      `audio frame truncated: ${bytes.byteLength} bytes, the header alone is ${AUDIO_HEADER_BYTES}`,
    );
  }
  const version = bytes[0]!;
  if (version !== AUDIO_FRAME_VERSION) bad(`unsupported audio frame version ${version}`);
  const encoding = bytes[1]!;
  if (encoding !== SampleEncoding.pcm16le && encoding !== SampleEncoding.float32le) {
    bad(`unknown sample encoding ${encoding}`);
  }
  const channels = bytes[2]!;
  if (channels === 0) bad('audio frame has 0 channels');
  const streamId = getUint32(bytes, 4);
  const seq = getUint32(bytes, 8);
  const sampleRate = getUint32(bytes, 12);
  if (sampleRate === 0 || sampleRate > MAX_SAMPLE_RATE)
    bad(`sample rate ${sampleRate} out of range`);
  for (let i = 0; i < 8; i++) float64Bytes[i] = bytes[16 + i]!;
  const timestamp = float64.getFloat64(0, true);
  if (!Number.isFinite(timestamp)) bad('audio frame timestamp is not a finite number');
  const bytesPerSample = encoding === SampleEncoding.pcm16le ? 2 : 4;
  const payload = bytes.byteLength - AUDIO_HEADER_BYTES;
  if (payload % (bytesPerSample * channels) !== 0) {
    bad(
      `audio payload of ${payload} bytes is not whole ${channels}-channel frames of ${bytesPerSample}-byte samples`,
    );
  }
  const count = payload / bytesPerSample;
  let samples: Int16Array | Float32Array;
  if (littleEndianHost) {
    let target = allocate?.(payload);
    if (target === undefined || target.byteOffset % bytesPerSample !== 0) {
      target = new Uint8Array(payload);
    }
    target.set(bytes.subarray(AUDIO_HEADER_BYTES));
    samples =
      encoding === SampleEncoding.pcm16le
        ? new Int16Array(target.buffer, target.byteOffset, count)
        : new Float32Array(target.buffer, target.byteOffset, count);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    samples = encoding === SampleEncoding.pcm16le ? new Int16Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const at = AUDIO_HEADER_BYTES + i * bytesPerSample;
      samples[i] =
        encoding === SampleEncoding.pcm16le ? view.getInt16(at, true) : view.getFloat32(at, true);
    }
  }
  return { samples, sampleRate, channels, seq, timestamp, streamId };
}

function checkField(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `audio chunk '${name}' must be an integer in [${min}, ${max}] (got ${value})`,
    );
  }
}

function bad(message: string): never {
  throw new ProtocolError(ErrorCode.BadBinaryFrame, message);
}
