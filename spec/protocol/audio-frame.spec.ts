import {
  decodeAudioFrame,
  encodeAudioFrame,
  writeAudioFrame,
  readAudioFrame,
  AUDIO_HEADER_BYTES,
  ProtocolError,
} from '../../src/protocol/index';

describe('binary audio frames', () => {
  it('round-trips pcm16 bit-exactly with every header field', () => {
    const samples = Int16Array.from({ length: 640 }, (_, i) => ((i * 97) % 65536) - 32768);
    const chunk = {
      samples,
      sampleRate: 16000,
      channels: 2,
      seq: 4_000_000_000,
      timestamp: 1_795_000_000_123.5,
      streamId: 7,
    };
    const frame = encodeAudioFrame(chunk);
    expect(frame.byteLength).toBe(AUDIO_HEADER_BYTES + 1280);
    expect(Array.from(frame.subarray(0, 4))).toEqual([1, 1, 2, 0]);
    expect(decodeAudioFrame(frame)).toEqual(chunk);
  });

  it('round-trips float32 bit-exactly, including from an unaligned view', () => {
    const samples = Float32Array.from({ length: 480 }, (_, i) => Math.sin(i / 3) * 0.999);
    const frame = encodeAudioFrame({
      samples,
      sampleRate: 48000,
      channels: 1,
      seq: 0,
      timestamp: 0,
    });
    const unaligned = new Uint8Array(frame.byteLength + 1);
    unaligned.set(frame, 1);
    const out = decodeAudioFrame(unaligned.subarray(1));
    expect(out.samples).toBeInstanceOf(Float32Array);
    expect(Array.from(out.samples)).toEqual(Array.from(samples));
    expect(out).toMatchObject({ sampleRate: 48000, channels: 1, seq: 0, streamId: 0 });
  });

  it('writes into a view of a larger, dirty buffer (as a pooled Buffer is) exactly what encode makes', () => {
    const chunk = {
      samples: Int16Array.from({ length: 320 }, (_, i) => i * 101 - 16000),
      sampleRate: 16000,
      channels: 1,
      seq: 0xfffffffe,
      timestamp: 1_795_000_000_000.25,
      streamId: 0x80000001,
    };
    const pool = new Uint8Array(4096).fill(0xaa);
    const frame = writeAudioFrame(chunk, (n) => pool.subarray(13, 13 + n));
    expect(frame.byteOffset).toBe(13);
    expect(Array.from(frame)).toEqual(Array.from(encodeAudioFrame(chunk)));
    expect(pool[13 + frame.byteLength]).toBe(0xaa);
    const decoded = decodeAudioFrame(frame);
    expect(decoded).toEqual(chunk);
    frame.fill(0); // the decoded samples are a copy
    expect(decoded.samples[1]).toBe(101 - 16000);
  });

  it('reads samples into allocated (pooled) bytes when aligned, and into its own array otherwise', () => {
    const chunk = {
      samples: Int16Array.from({ length: 320 }, (_, i) => 7 * i - 1000),
      sampleRate: 16000,
      channels: 1,
      seq: 3,
      timestamp: 5,
      streamId: 0,
    };
    const frame = encodeAudioFrame(chunk);
    const pool = new Uint8Array(2048);
    const pooled = readAudioFrame(frame, (n) => pool.subarray(8, 8 + n));
    expect(pooled).toEqual(chunk);
    expect(pooled.samples.buffer).toBe(pool.buffer);
    expect(pooled.samples.byteOffset).toBe(8);
    frame.fill(0); // a copy: the frame's bytes can be reused
    expect(pooled.samples[2]).toBe(14 - 1000);
    const odd = readAudioFrame(encodeAudioFrame(chunk), (n) => pool.subarray(1, 1 + n));
    expect(odd).toEqual(chunk);
    expect(odd.samples.buffer).not.toBe(pool.buffer);
  });

  const valid = () =>
    encodeAudioFrame({
      samples: new Int16Array(4),
      sampleRate: 16000,
      channels: 1,
      seq: 1,
      timestamp: 1,
    });
  const mutate = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = valid();
    f(b, new DataView(b.buffer));
    return b;
  };

  it.each([
    ['truncated header', valid().subarray(0, 10), /truncated/],
    ['a half sample', valid().subarray(0, AUDIO_HEADER_BYTES + 3), /not whole/],
    ['version 2', mutate((b) => (b[0] = 2)), /version/],
    ['encoding 9', mutate((b) => (b[1] = 9)), /encoding/],
    ['0 channels', mutate((b) => (b[2] = 0)), /0 channels/],
    ['sample rate 0', mutate((_, v) => v.setUint32(12, 0, true)), /sample rate/],
    ['NaN timestamp', mutate((_, v) => v.setFloat64(16, NaN, true)), /timestamp/],
    ['stereo with an odd sample count', mutate((b) => (b[2] = 3)), /not whole/],
  ])('rejects %s with RXWIRE_BAD_BINARY_FRAME', (_name, frame, message) => {
    let error: unknown;
    try {
      decodeAudioFrame(frame);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({
      code: 'RXWIRE_BAD_BINARY_FRAME',
      message: expect.stringMatching(message),
    });
  });

  it('refuses to encode inconsistent chunks', () => {
    const base = {
      samples: new Int16Array(4),
      sampleRate: 16000,
      channels: 1,
      seq: 0,
      timestamp: 0,
    };
    expect(() => encodeAudioFrame({ ...base, channels: 3 })).toThrow(/multiple of channels/);
    expect(() => encodeAudioFrame({ ...base, seq: -1 })).toThrow(/seq/);
    expect(() => encodeAudioFrame({ ...base, sampleRate: 0 })).toThrow(/sampleRate/);
  });
});
