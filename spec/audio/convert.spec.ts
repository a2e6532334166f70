import { toFloat32, toPcm16, type AudioChunk } from '../../src/audio/index';
import { run } from './helpers';

const chunk = (samples: Int16Array | Float32Array): AudioChunk => ({
  samples,
  sampleRate: 16000,
  channels: 1,
  seq: 4,
  timestamp: 9,
});

describe('toPcm16 / toFloat32', () => {
  it('converts float to PCM16 with rounding and clipping', () => {
    const f = Float32Array.from([
      0,
      1,
      -1,
      0.5,
      -0.5,
      2,
      -2,
      1 / 32768,
      -1 / 32768,
      0.4 / 32768,
      0.6 / 32768,
      -0.6 / 32768,
      1.5 / 32768,
      -1.5 / 32768,
      NaN,
      Infinity,
      -Infinity,
    ]);
    const [out] = run([chunk(f)], toPcm16());
    expect(out!.samples).toBeInstanceOf(Int16Array);
    expect(Array.from(out!.samples)).toEqual([
      0, 32767, -32768, 16384, -16384, 32767, -32768, 1, -1, 0, 1, -1, 2, -2, 0, 32767, -32768,
    ]);
    expect(out).toMatchObject({ seq: 4, timestamp: 9, sampleRate: 16000, channels: 1 });
  });

  it('converts PCM16 to float by dividing by 32768, and back bit-exactly', () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const [f] = run([chunk(all)], toFloat32());
    expect(f!.samples).toBeInstanceOf(Float32Array);
    expect(f!.samples[0]).toBe(-1);
    expect(f!.samples[32768]).toBe(0);
    expect(f!.samples[65535]).toBe(32767 / 32768);
    const [back] = run([f!], toPcm16());
    expect(Array.from(back!.samples)).toEqual(Array.from(all));
  });

  it('passes chunks already in the target type through unchanged', () => {
    const i = chunk(new Int16Array([1, 2]));
    const f = chunk(new Float32Array([0.5]));
    expect(run([i], toPcm16())[0]).toBe(i);
    expect(run([f], toFloat32())[0]).toBe(f);
  });
});
