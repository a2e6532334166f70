import { level, type AudioChunk } from '../../src/audio/index';
import { run, tone } from './helpers';

const chunk = (samples: Int16Array | Float32Array, streamId?: number): AudioChunk => ({
  samples,
  sampleRate: 16000,
  channels: 1,
  seq: 2,
  timestamp: 40,
  ...(streamId === undefined ? {} : { streamId }),
});

describe('level', () => {
  it('reads a full-scale sine as -3.01 dBFS RMS and 0 dBFS peak', () => {
    const [l] = run([chunk(tone(1000, 16000, 16000, 1))], level());
    expect(l!.rms).toBeCloseTo(-3.0103, 3);
    expect(l!.peak).toBeCloseTo(0, 4);
    expect(l).toMatchObject({ seq: 2, timestamp: 40 });
  });

  it('measures PCM16 against 32768 and half scale at -6.02 dBFS', () => {
    const [l] = run([chunk(new Int16Array([16384, -16384, 16384, -16384]), 1)], level());
    expect(l!.rms).toBeCloseTo(-6.0206, 3);
    expect(l!.peak).toBeCloseTo(-6.0206, 3);
    expect(l!.streamId).toBe(1);
    const [full] = run([chunk(new Int16Array([-32768]))], level());
    expect(full!.peak).toBe(0);
  });

  it('reads silence (and empty chunks) as the floor: -100 by default, or -Infinity', () => {
    const silent = chunk(new Float32Array(320));
    expect(run([silent, chunk(new Int16Array(0))], level())).toEqual([
      { rms: -100, peak: -100, seq: 2, timestamp: 40 },
      { rms: -100, peak: -100, seq: 2, timestamp: 40 },
    ]);
    const [l] = run([silent], level({ floor: -Infinity }));
    expect(l!.rms).toBe(-Infinity);
    const [quiet] = run([chunk(new Float32Array(10).fill(1e-7))], level({ floor: -60 }));
    expect(quiet!.rms).toBe(-60);
  });
});
