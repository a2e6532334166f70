// Audio on the session core over a fake socket: decoding binary frames into
// audio$ and per-stream routes, stats, bad frames, limits and the end of a session.
import { firstValueFrom, toArray } from 'rxjs';
import type { AudioChunk } from '../../src/audio/types.js';
import { ErrorCode, RxwireTypeError, encodeAudioFrame } from '../../src/protocol/index.js';
import type { SessionAudioStats } from '../../server/audio-stats.js';
import { ServerCore } from '../../server/core.js';
import type { ServerOptions } from '../../server/options.js';
import type { Session } from '../../server/session.js';
import { helloFake, type FakePeer } from '../helpers/server-fake-socket.js';
import { pcmChunk, pcmFrame } from '../helpers/server-audio.js';
import { envelope } from '../helpers/server-harness.js';

const cores: Array<{ shutdown(): Promise<void> }> = [];
function makeCore(options: ServerOptions = {}): ServerCore {
  const core = new ServerCore({ heartbeat: false, ...options });
  cores.push(core);
  return core;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

async function openSession(
  options: ServerOptions = {},
): Promise<{ peer: FakePeer; session: Session; core: ServerCore }> {
  const core = makeCore(options);
  const next = firstValueFrom(core.sessions$);
  const peer = await helloFake(core);
  return { peer, session: await next, core };
}

const seqsOf = (chunks: AudioChunk[]): Array<[number, number]> =>
  chunks.map((c) => [c.streamId ?? 0, c.seq]);

describe('audio frames', () => {
  it('decodes binary frames into audio$ bit-exactly, pcm16 and float32', async () => {
    const { peer, session } = await openSession();
    const got: AudioChunk[] = [];
    session.audio$.subscribe((c) => got.push(c));
    const pcm = pcmChunk(3, 2, 6);
    const float: AudioChunk = {
      samples: new Float32Array([0, -1, 1, 0.25, Math.fround(1e-7), -0.5]),
      sampleRate: 48_000,
      channels: 2,
      seq: 9,
      timestamp: 1_700_000_000_123.5,
      streamId: 5,
    };
    peer.connection.receive(encodeAudioFrame(pcm));
    peer.connection.receive(encodeAudioFrame(float));
    expect(got).toEqual([pcm, float]);
    expect(got[0]!.samples).toBeInstanceOf(Int16Array);
    expect(got[1]!.samples).toBeInstanceOf(Float32Array);
    expect(peer.socket.sent).toHaveLength(1); // only the $welcome: no $error
  });

  it('routes chunks per stream id; audio$ sees every stream in arrival order', async () => {
    const { peer, session } = await openSession();
    const all: AudioChunk[] = [];
    const one: AudioChunk[] = [];
    const two: AudioChunk[] = [];
    session.audio$.subscribe((c) => all.push(c));
    session.audioStream(1).subscribe((c) => one.push(c));
    session.audioStream(2).subscribe((c) => two.push(c));
    for (const [stream, seq] of [
      [1, 0],
      [2, 0],
      [1, 1],
      [3, 0],
      [2, 1],
    ] as const) {
      peer.connection.receive(pcmFrame(seq, stream));
    }
    expect(seqsOf(all)).toEqual([
      [1, 0],
      [2, 0],
      [1, 1],
      [3, 0],
      [2, 1],
    ]);
    expect(seqsOf(one)).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(seqsOf(two)).toEqual([
      [2, 0],
      [2, 1],
    ]);
  });

  it('is hot: a stream subscribed late sees only later chunks; unsubscribing stops delivery', async () => {
    const { peer, session } = await openSession();
    peer.connection.receive(pcmFrame(0, 1));
    const got: number[] = [];
    const sub = session.audioStream(1).subscribe((c) => got.push(c.seq));
    peer.connection.receive(pcmFrame(1, 1));
    sub.unsubscribe();
    peer.connection.receive(pcmFrame(2, 1));
    expect(got).toEqual([1]);
  });

  it('refuses a stream id that is not a u32', async () => {
    const { session } = await openSession();
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => session.audioStream(bad)).toThrow(RxwireTypeError);
    }
  });

  it('completes audio$, every stream and audioStats$ when the session ends; stats stay readable', async () => {
    const { peer, session } = await openSession();
    const audio = firstValueFrom(session.audio$.pipe(toArray()));
    const stream = firstValueFrom(session.audioStream(0).pipe(toArray()));
    const stats = firstValueFrom(session.audioStats$.pipe(toArray()));
    peer.connection.receive(pcmFrame(0));
    peer.connection.closed(1000, 'bye');
    peer.connection.receive(pcmFrame(1)); // after close: ignored
    expect(seqsOf(await audio)).toEqual([[0, 0]]);
    expect(seqsOf(await stream)).toEqual([[0, 0]]);
    expect((await stats).map((s) => s.streams.get(0)?.received ?? 0)).toEqual([0, 1]);
    expect(session.audioStats.streams.get(0)).toMatchObject({ received: 1 });
    // Late subscribers: streams complete at once, stats give the final value and complete.
    expect(await firstValueFrom(session.audioStream(0).pipe(toArray()))).toEqual([]);
    expect(await firstValueFrom(session.audioStats$.pipe(toArray()))).toHaveLength(1);
  });
});

describe('audio stats', () => {
  it('replays the current value, then emits after every frame with gaps, reordering and duplicates', async () => {
    const { peer, session } = await openSession();
    const seen: SessionAudioStats[] = [];
    peer.connection.receive(pcmFrame(0, 4));
    session.audioStats$.subscribe((s) => seen.push(s));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.streams.get(4)).toMatchObject({ received: 1, lastSeq: 0 });
    for (const seq of [1, 4, 2, 2, 5]) peer.connection.receive(pcmFrame(seq, 4));
    expect(seen).toHaveLength(6);
    expect(seen.map((s) => s.streams.get(4)!.lost)).toEqual([0, 0, 2, 1, 1, 1]);
    expect(session.audioStats.streams.get(4)).toEqual({
      streamId: 4,
      received: 6,
      lost: 1,
      reordered: 1,
      duplicates: 1,
      stale: 0,
      firstSeq: 0,
      lastSeq: 5,
      lastTimestamp: pcmChunk(5).timestamp,
    });
    expect(session.audioStats).toBe(seen[5]);
  });

  it('keeps stats per stream, and they are current inside an audio$ subscriber', async () => {
    const { peer, session } = await openSession();
    const receivedWhenDelivered: number[] = [];
    session.audio$.subscribe((c) =>
      receivedWhenDelivered.push(session.audioStats.streams.get(c.streamId!)!.received),
    );
    peer.connection.receive(pcmFrame(0, 1));
    peer.connection.receive(pcmFrame(0, 2));
    peer.connection.receive(pcmFrame(3, 1));
    expect(receivedWhenDelivered).toEqual([1, 1, 2]);
    expect(session.audioStats.streams.get(1)).toMatchObject({ received: 2, lost: 2 });
    expect(session.audioStats.streams.get(2)).toMatchObject({ received: 1, lost: 0 });
    expect([...session.audioStats.streams.keys()]).toEqual([1, 2]);
  });

  it('starts empty and allocates no snapshot while nothing changes', async () => {
    const { session } = await openSession();
    expect(session.audioStats).toEqual({ streams: new Map(), overLimit: 0, rejected: 0 });
    expect(session.audioStats).toBe(session.audioStats);
    expect(Object.isFrozen(session.audioStats)).toBe(true);
  });
});

describe('bad audio frames', () => {
  it.each([
    ['truncated', new Uint8Array([1, 1, 1, 0]), /truncated/],
    ['of an unknown version', Object.assign(pcmFrame(0), { 0: 9 }), /version 9/],
    ['of an unknown encoding', Object.assign(pcmFrame(0), { 1: 7 }), /encoding 7/],
    ['with 0 channels', Object.assign(pcmFrame(0), { 2: 0 }), /0 channels/],
    ['with half a sample', pcmFrame(0).subarray(0, 25), /not whole/],
  ])(
    'answers a frame %s with $error RXWIRE_BAD_BINARY_FRAME saying why, and stays up',
    async (_n, frame, why) => {
      const { peer, session } = await openSession();
      const got: AudioChunk[] = [];
      session.audio$.subscribe((c) => got.push(c));
      peer.connection.receive(frame);
      const [, error] = await peer.socket.waitForFrames(2);
      expect(error).toMatchObject({ type: '$error', payload: { code: ErrorCode.BadBinaryFrame } });
      expect((error!.payload as { message: string }).message).toMatch(why);
      expect(error!.replyTo).toBeUndefined();
      peer.connection.receive(pcmFrame(0));
      expect(got).toHaveLength(1);
      expect(session.state).toBe('open');
      expect(session.audioStats.rejected).toBe(1);
    },
  );

  it('logs bad audio frames with the rate-limited bad-frame log', async () => {
    const warnings: string[] = [];
    const { peer } = await openSession({ logger: { warn: (m) => warnings.push(m) } });
    for (let i = 0; i < 50; i++) peer.connection.receive(new Uint8Array([1, 2, 3]));
    expect(peer.socket.sent).toHaveLength(51);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/rejected frame: audio frame truncated/);
  });

  it('refuses a stream beyond maxAudioStreams with $error and keeps the others flowing', async () => {
    const { peer, session } = await openSession({ maxAudioStreams: 2 });
    const got: Array<[number, number]> = [];
    session.audio$.subscribe((c) => got.push([c.streamId!, c.seq]));
    peer.connection.receive(pcmFrame(0, 10));
    peer.connection.receive(pcmFrame(0, 11));
    peer.connection.receive(pcmFrame(0, 12));
    peer.connection.receive(pcmFrame(1, 10));
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error!.payload).toMatchObject({
      code: ErrorCode.BadBinaryFrame,
      message: expect.stringMatching(/too many audio streams.*maxAudioStreams is 2/),
    });
    expect(got).toEqual([
      [10, 0],
      [11, 0],
      [10, 1],
    ]);
    expect(session.audioStats).toMatchObject({ rejected: 1 });
    expect(session.audioStats.streams.has(12)).toBe(false);
  });

  it('still rejects binary frames when the seam is turned off (onBinary = null)', async () => {
    const core = makeCore();
    core.onBinary = null;
    const peer = await helloFake(core);
    peer.connection.receive(pcmFrame(0));
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error!.payload).toMatchObject({ code: ErrorCode.BadBinaryFrame });
  });
});

describe('audio and the rate limit', () => {
  it('does not spend text tokens on audio: 5 streams at 50 frames/s pass the default 200/s', async () => {
    const { peer, session } = await openSession();
    let n = 0;
    session.audio$.subscribe(() => n++);
    // One second of 5 streams x 50 frames, delivered at once (the worst case for a bucket).
    for (let seq = 0; seq < 50; seq++) {
      for (let stream = 0; stream < 5; stream++) peer.connection.receive(pcmFrame(seq, stream));
    }
    peer.send(envelope('say', { text: 'still here' }));
    expect(n).toBe(250);
    expect(session.state).toBe('open');
    expect(session.audioStats.overLimit).toBe(0);
  });

  it('drops and counts audio over rateLimit.audioFrames, logging once, and keeps the connection', async () => {
    const warnings: string[] = [];
    const { peer, session } = await openSession({
      rateLimit: { messages: 10, perMs: 60_000, audioFrames: 20 },
      logger: { warn: (m) => warnings.push(m) },
    });
    let n = 0;
    session.audio$.subscribe(() => n++);
    for (let seq = 0; seq < 100; seq++) peer.connection.receive(pcmFrame(seq));
    expect(n).toBe(20);
    expect(session.audioStats.overLimit).toBe(80);
    expect(session.state).toBe('open');
    expect(peer.socket.closeCall).toBeNull();
    expect(warnings).toHaveLength(2); // the first drop, and "further ... are counted"
    peer.connection.closed(1000, '');
    expect(warnings[2]).toBe(
      '80 audio frames dropped over the audio rate limit on this connection in total',
    );
  });
});
