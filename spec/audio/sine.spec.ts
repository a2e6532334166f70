import { map, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { sine, type AudioChunk } from '../../src/audio/index';
import { concat, dftMagnitude } from './helpers';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('sine', () => {
  it('paces chunks in real time under TestScheduler: chunk k at (k + 1) * frameMs', () => {
    scheduler().run(({ expectObservable }) => {
      const src = sine(1000, { durationMs: 60 }).pipe(map((c) => `${c.seq}@${c.timestamp}`));
      expectObservable(src).toBe('20ms a 19ms b 19ms (c|)', { a: '0@0', b: '1@20', c: '2@40' });
    });
  });

  it('ends with a short chunk when the duration is not whole frames, and stops on unsubscribe', () => {
    scheduler().run(({ expectObservable }) => {
      const lengths = sine(440, { durationMs: 50, frameMs: 20, sampleRate: 8000 }).pipe(
        map((c) => c.samples.length),
      );
      expectObservable(lengths).toBe('20ms a 19ms b 9ms (c|)', { a: 160, b: 160, c: 80 });
      const endless = sine(440, { frameMs: 10 }).pipe(map((c) => c.seq));
      expectObservable(endless, '^ 35ms !').toBe('10ms a 9ms b 9ms c', { a: 0, b: 1, c: 2 });
    });
  });

  it('uses the given scheduler for pacing and timestamps', () => {
    const ts = scheduler();
    ts.run(({ expectObservable }) => {
      const src = sine(100, { durationMs: 40, frameMs: 20, scheduler: ts }).pipe(
        map((c) => c.timestamp),
      );
      expectObservable(src).toBe('20ms a 19ms (b|)', { a: 0, b: 20 });
    });
  });

  it('emits synchronously without realtime, with continuous phase across chunks', () => {
    let chunks: AudioChunk[] = [];
    sine(1000, { realtime: false, sampleRate: 16000, amplitude: 1, format: 'float32' })
      .pipe(take(50), toArray())
      .subscribe((c) => (chunks = c));
    expect(chunks.length).toBe(50);
    expect(chunks.every((c) => c.samples.length === 320 && c.samples instanceof Float32Array)).toBe(
      true,
    );
    const all = concat(chunks);
    for (let i = 0; i < all.length; i += 997) {
      expect(all[i]).toBeCloseTo(Math.sin((2 * Math.PI * 1000 * i) / 16000), 6);
    }
    expect(dftMagnitude(all, 1000, 16000)).toBeCloseTo(0.5, 3);
  });

  it('makes PCM16 and multichannel chunks with a streamId', () => {
    let chunk: AudioChunk | undefined;
    sine(1000, { realtime: false, format: 'pcm16', amplitude: 1, channels: 2, streamId: 5 })
      .pipe(take(1))
      .subscribe((c) => (chunk = c));
    expect(chunk!.samples).toBeInstanceOf(Int16Array);
    expect(chunk).toMatchObject({ channels: 2, streamId: 5, sampleRate: 16000 });
    expect(chunk!.samples.length).toBe(640);
    expect(chunk!.samples[8]).toBe(32767); // sample 4 of 1 kHz at 16 kHz is the crest
    expect(chunk!.samples[9]).toBe(32767);
  });

  it('rejects bad options', () => {
    expect(() => sine(-1)).toThrow(/hz/);
    expect(() => sine(440, { amplitude: 2 })).toThrow(/amplitude/);
    expect(() => sine(440, { frameMs: 0 })).toThrow(/frameMs/);
  });
});
