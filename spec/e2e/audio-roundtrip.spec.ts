// Round trip, bit-exact: a WAV made here is streamed by the real client
// (fromWav -> client.audio) through a real server on port 0, reassembled on the
// server from session.audioStream(id) with toWav, and compared with the input.
import WebSocket from 'ws';
import { firstValueFrom, take, toArray, type Observable } from 'rxjs';
import { createClient, type AudioChunk, type AudioStats, type Client } from '../../src/index';
import { fromWav, toWav } from '../../src/audio/index';
import type { Session } from '../../server/index';
import { Disposer, startServer, within } from '../helpers/server-harness';
import { waitFor } from '../helpers/test-server';

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** A logarithmic sine sweep, 100 Hz to `top` Hz, with a few exact edge values mixed in. */
function sweep(sampleRate: number, seconds: number, channels: number, top: number): Float32Array {
  const frames = Math.round(sampleRate * seconds);
  const out = new Float32Array(frames * channels);
  const k = Math.log(top / 100) / seconds;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const phase = ((2 * Math.PI * 100) / k) * (Math.exp(k * t) - 1);
    for (let c = 0; c < channels; c++) out[i * channels + c] = 0.8 * Math.sin(phase + c);
  }
  out.set([1, -1, 0, -0, Math.fround(1e-40), Math.fround(-3.4e38)], 100);
  return out;
}

function toPcm16(samples: Float32Array): Int16Array {
  return Int16Array.from(samples, (s) => Math.max(-32768, Math.min(32767, Math.round(s * 32767))));
}

interface Case {
  name: string;
  samples: Int16Array | Float32Array;
  sampleRate: number;
  channels: number;
  streamId: number;
}

const cases: Case[] = [
  {
    name: 'pcm16 mono at 16 kHz',
    samples: toPcm16(sweep(16_000, 1.5, 1, 7_000)),
    sampleRate: 16_000,
    channels: 1,
    streamId: 1,
  },
  {
    name: 'float32 stereo at 48 kHz',
    samples: sweep(48_000, 1.5, 2, 20_000),
    sampleRate: 48_000,
    channels: 2,
    streamId: 2,
  },
];

async function connectClient(url: string): Promise<Client> {
  const client = createClient({
    url,
    WebSocketCtor: WebSocket,
    reconnect: false,
    // The test sends faster than real time; the high-water mark is not what it checks.
    audio: { highWaterMarkMs: 60_000 },
  });
  disposer.add(() => client.dispose());
  client.connect();
  await waitFor(client.state$, (s) => s.status === 'connected');
  return client;
}

describe('audio round trip through the real client and server', () => {
  it.each(cases)('is bit-exact for $name', async ({ samples, sampleRate, channels, streamId }) => {
    const { server, url } = await startServer(disposer, { heartbeat: false });
    const input = toWav([{ samples, sampleRate, channels, seq: 0, timestamp: 0 }]);
    const frameSamples = (sampleRate * 20) / 1000;
    const expected = Math.ceil(samples.length / channels / frameSamples);

    let received: Promise<AudioChunk[]> | undefined;
    let session: Session | undefined;
    server.sessions$.subscribe((s) => {
      session = s;
      received = firstValueFrom(s.audioStream(streamId).pipe(take(expected), toArray()));
    });
    const client = await connectClient(url);
    const clientStats: Observable<AudioStats> = client.audioStats$;

    fromWav(input, { streamId }).subscribe((chunk) => client.audio.next(chunk));

    const chunks = await within(received!, 10_000, `${expected} chunks on the server`);
    const output = toWav(chunks);
    expect(Buffer.from(output).equals(Buffer.from(input))).toBe(true);
    // And sample by sample, through the other direction of the codec.
    const decoded = await firstValueFrom(fromWav(output).pipe(toArray()));
    const joined = new (samples.constructor as typeof Float32Array)(samples.length);
    let at = 0;
    for (const c of decoded) {
      joined.set(c.samples, at);
      at += c.samples.length;
    }
    expect(at).toBe(samples.length);
    expect(Buffer.from(joined.buffer).equals(Buffer.from(samples.buffer))).toBe(true);

    expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: expected }, (_, i) => i));
    expect(session!.audioStats.streams.get(streamId)).toMatchObject({
      received: expected,
      lost: 0,
      reordered: 0,
      duplicates: 0,
      lastSeq: expected - 1,
    });
    expect(await firstValueFrom(clientStats)).toMatchObject({
      sent: expected,
      droppedOffline: 0,
      droppedBackpressure: 0,
    });
  });
});
