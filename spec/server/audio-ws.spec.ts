// Audio over a real socket: a raw `ws` client sends encoded frames to a server
// on port 0, and the session reassembles them per stream.
import { firstValueFrom, filter, map, take, toArray } from 'rxjs';
import type { AudioChunk } from '../../src/audio/types.js';
import { ErrorCode, encodeAudioFrame } from '../../src/protocol/index.js';
import type { Session } from '../../server/session.js';
import { Disposer, RawClient, envelope, startServer, within } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

function sine(length: number, phase: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.sin((2 * Math.PI * 440 * (phase + i)) / 48_000);
  return out;
}

describe('audio over ws', () => {
  it('delivers frames from a raw client per stream, bit-exact, with stats, and answers a bad frame', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false });
    const sessionP = firstValueFrom(server.sessions$);
    const { client } = await RawClient.open(url, disposer);
    const session: Session = await sessionP;
    const pcmIn: AudioChunk[] = [];
    const floatIn: AudioChunk[] = [];
    const pcm = firstValueFrom(session.audioStream(1).pipe(take(50), toArray()));
    const float = firstValueFrom(session.audioStream(2).pipe(take(49), toArray()));
    for (let seq = 0; seq < 50; seq++) {
      const samples = new Int16Array(320).map((_, i) => (((seq * 320 + i) * 37) % 65536) - 32768);
      pcmIn.push({
        samples,
        sampleRate: 16_000,
        channels: 1,
        seq,
        timestamp: 1e12 + seq * 20,
        streamId: 1,
      });
      floatIn.push({
        samples: sine(1920, seq * 960),
        sampleRate: 48_000,
        channels: 2,
        seq,
        timestamp: 1e12 + seq * 20,
        streamId: 2,
      });
    }
    const lostOne = floatIn.filter((c) => c.seq !== 10);
    for (let i = 0; i < 50; i++) {
      client.sendRaw(Buffer.from(encodeAudioFrame(pcmIn[i]!)));
      if (i < lostOne.length) client.sendRaw(Buffer.from(encodeAudioFrame(lostOne[i]!)));
    }
    client.sendRaw(Buffer.from([1, 1, 1]));
    expect(await within(pcm, 5_000, 'stream 1')).toEqual(pcmIn);
    expect(await within(float, 5_000, 'stream 2')).toEqual(lostOne);
    expect(await client.next()).toMatchObject({
      type: '$error',
      payload: { code: ErrorCode.BadBinaryFrame, message: expect.stringMatching(/truncated/) },
    });
    const ping = client.send(envelope('$ping'));
    expect(await client.next()).toMatchObject({ type: '$pong', replyTo: ping });
    expect(session.audioStats.streams.get(1)).toMatchObject({ received: 50, lost: 0, lastSeq: 49 });
    expect(session.audioStats.streams.get(2)).toMatchObject({ received: 49, lost: 1, lastSeq: 49 });
    expect(session.audioStats.rejected).toBe(1);
  });

  it('takes 4 streams at 50 frames/s, a whole second at once, under the default rate limit', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false });
    const sessionP = firstValueFrom(server.sessions$);
    const { client } = await RawClient.open(url, disposer);
    const session = await sessionP;
    const done = firstValueFrom(
      session.audioStats$.pipe(
        map((s) => [...s.streams.values()].reduce((n, st) => n + st.received, 0)),
        filter((n) => n === 200),
      ),
    );
    for (let seq = 0; seq < 50; seq++) {
      for (let streamId = 0; streamId < 4; streamId++) {
        const samples = new Int16Array(320);
        client.sendRaw(
          Buffer.from(
            encodeAudioFrame({
              samples,
              sampleRate: 16_000,
              channels: 1,
              seq,
              timestamp: 0,
              streamId,
            }),
          ),
        );
      }
    }
    for (let i = 0; i < 5; i++) client.send(envelope('say', { text: String(i) }));
    await within(done, 5_000, '200 frames');
    const ping = client.send(envelope('$ping'));
    expect(await client.next()).toMatchObject({ type: '$pong', replyTo: ping });
    expect(client.closeInfo).toBeNull();
    expect(session.audioStats.overLimit).toBe(0);
  });
});
