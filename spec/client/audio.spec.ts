import { decodeAudioFrame } from '../../src/protocol/index';
import type { AudioChunk, AudioStats, RxwireError } from '../../src/index';
import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

const chunk = (seq: number, streamId = 0): AudioChunk => ({
  samples: Int16Array.from({ length: 320 }, (_, i) => i - seq),
  sampleRate: 16000,
  channels: 1,
  seq,
  timestamp: 1_000 + seq * 20,
  streamId,
});
const binary = (sent: unknown[]) => sent.filter((f): f is Uint8Array => f instanceof Uint8Array);

describe('client.audio', () => {
  it('sends each chunk as one binary frame while connected, bit-exact', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      client.connect();
      flush();
      client.audio.next(chunk(0));
      client.audio.next(chunk(1));
      const frames = binary(fake.last!.sent).map((f) => decodeAudioFrame(f));
      expect(frames).toEqual([chunk(0), chunk(1)]);
      client.dispose();
    });
  });

  it('drops and counts chunks while offline: audio is never queued', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      let stats: AudioStats | undefined;
      client.audioStats$.subscribe((s) => (stats = s));
      client.audio.next(chunk(0)); // before connect
      client.connect();
      flush();
      client.audio.next(chunk(1));
      expect(stats).toMatchObject({ sent: 1, droppedOffline: 1, droppedBackpressure: 0 });
      expect(binary(fake.last!.sent).map((f) => decodeAudioFrame(f).seq)).toEqual([1]);
      expect(client.state.queued).toBe(0);
      client.dispose();
    });
  });

  it('drops chunks while more than highWaterMarkMs of audio is buffered, and resumes after', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient({}, { audio: { highWaterMarkMs: 100 } });
      let stats: AudioStats | undefined;
      client.audioStats$.subscribe((s) => (stats = s));
      client.connect();
      flush();
      const socket = fake.last!;
      socket.bufferedAmount = 3200; // exactly 100 ms of 16 kHz mono pcm16: still allowed
      client.audio.next(chunk(0));
      socket.bufferedAmount = 3201;
      client.audio.next(chunk(1));
      client.audio.next(chunk(2));
      socket.bufferedAmount = 0;
      client.audio.next(chunk(3));
      expect(stats).toMatchObject({ sent: 2, droppedBackpressure: 2, droppedOffline: 0 });
      expect(binary(socket.sent).map((f) => decodeAudioFrame(f).seq)).toEqual([0, 3]);
      client.dispose();
    });
  });

  it('a late audioStats$ subscriber sees the current counts', () => {
    testScheduler().run(({ flush }) => {
      const { client } = fakeClient();
      client.audio.next(chunk(0)); // offline: counted while nobody watches
      client.connect();
      flush();
      client.audio.next(chunk(1));
      let stats: AudioStats | undefined;
      client.audioStats$.subscribe((s) => (stats = s));
      expect(stats).toMatchObject({ sent: 1, droppedOffline: 1 });
      client.dispose();
    });
  });

  it('counts several concurrent streams separately', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      let stats: AudioStats | undefined;
      client.audioStats$.subscribe((s) => (stats = s));
      client.connect();
      flush();
      client.audio.next(chunk(0, 1));
      client.audio.next(chunk(0, 2));
      client.audio.next(chunk(1, 2));
      expect(stats!.streams).toEqual({
        1: { sent: 1, droppedOffline: 0, droppedBackpressure: 0, invalid: 0 },
        2: { sent: 2, droppedOffline: 0, droppedBackpressure: 0, invalid: 0 },
      });
      expect(stats!.bytesSent).toBe(3 * (24 + 640));
      expect(binary(fake.last!.sent).map((f) => decodeAudioFrame(f).streamId)).toEqual([1, 2, 2]);
      client.dispose();
    });
  });

  it('reports a chunk it cannot encode on errors$ and keeps going', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient();
      const errors: RxwireError[] = [];
      client.errors$.subscribe((e) => errors.push(e));
      client.connect();
      flush();
      client.audio.next({ ...chunk(0), channels: 3 }); // 320 samples are not whole 3-channel frames
      client.audio.next(chunk(1));
      expect(errors).toEqual([expect.objectContaining({ code: 'RXWIRE_INVALID_PAYLOAD' })]);
      expect(binary(fake.last!.sent)).toHaveLength(1);
      client.dispose();
    });
  });
});

describe('client.audio outlives the streams piped into it', () => {
  it('keeps sending after a source completes or errors; the error is reported on errors$', () => {
    testScheduler().run(({ cold, flush }) => {
      const { fake, client } = fakeClient();
      const errors: RxwireError[] = [];
      client.errors$.subscribe((e) => errors.push(e));
      client.connect();
      flush();
      cold('a|', { a: chunk(0) }).subscribe(client.audio); // completes
      cold('a#', { a: chunk(1) }, new Error('device unplugged')).subscribe(client.audio); // errors
      cold('a|', { a: chunk(2) }).subscribe(client.audio); // the next stream still works
      flush();
      expect(binary(fake.last!.sent).map((f) => decodeAudioFrame(f).seq)).toEqual([0, 1, 2]);
      expect(errors).toEqual([
        expect.objectContaining({
          code: 'RXWIRE_AUDIO_SOURCE_FAILED',
          message: expect.stringMatching(/device unplugged/),
        }),
      ]);
      const watcher = { values: [] as number[], completed: false };
      client.audio.subscribe({
        next: (c) => watcher.values.push(c.seq),
        complete: () => (watcher.completed = true),
      });
      client.audio.next(chunk(3)); // subscribers see what is sent, after the sender
      expect(watcher).toEqual({ values: [3], completed: false });
      const socket = fake.last!;
      client.dispose(); // only dispose() ends the input
      expect(watcher.completed).toBe(true);
      client.audio.next(chunk(4));
      expect(binary(socket.sent).map((f) => decodeAudioFrame(f).seq)).toEqual([0, 1, 2, 3]);
    });
  });
});
