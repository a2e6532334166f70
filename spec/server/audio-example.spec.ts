// Runs demo/audio-example.ts: session_control start/stop steering per-stream
// pipelines over binary audio, with audio_status messages back, over a real socket.
import { firstValueFrom, take, toArray, Subject } from 'rxjs';
import type { AudioChunk } from '../../src/audio/types.js';
import { encodeAudioFrame } from '../../src/protocol/index.js';
import {
  serveAudioExample,
  type AudioExampleProtocol,
  type AudioStatus,
  type Recording,
} from '../../demo/audio-example.js';
import { Disposer, RawClient, envelope, startServer, within } from '../helpers/server-harness.js';
import { pcmChunk } from '../helpers/server-audio.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

async function setup(): Promise<{ client: RawClient; recordings: Subject<Recording> }> {
  const { server, url } = await startServer<AudioExampleProtocol>(disposer, { heartbeat: false });
  const recordings = new Subject<Recording>();
  const sub = serveAudioExample(server.sessions$, {
    statusEvery: 10,
    onRecording: (r) => recordings.next(r),
  });
  disposer.add(() => sub.unsubscribe());
  const { client } = await RawClient.open(url, disposer);
  return { client, recordings };
}

const control = (action: 'start' | 'stop', streamId: number) =>
  envelope('session_control', { action, streamId });
const sendAudio = (client: RawClient, chunk: AudioChunk): void =>
  client.sendRaw(Buffer.from(encodeAudioFrame(chunk)));

async function nextStatus(client: RawClient): Promise<AudioStatus> {
  const frame = await client.next();
  expect(frame.type).toBe('audio_status');
  return frame.payload as AudioStatus;
}

describe('audio example (session_control + audioStream)', () => {
  it('records a stream from start to stop, reports status, and ignores audio outside it', async () => {
    const { client, recordings } = await setup();
    const recorded = firstValueFrom(recordings);
    sendAudio(client, pcmChunk(0, 7)); // before start: counted by the session, not recorded
    client.send(control('start', 7));
    expect(await nextStatus(client)).toMatchObject({ streamId: 7, state: 'started', chunks: 0 });
    const sent: AudioChunk[] = [];
    for (let seq = 1; seq <= 25; seq++) {
      if (seq === 13) continue; // lost on the way
      const chunk = pcmChunk(seq, 7, 320);
      sent.push(chunk);
      sendAudio(client, chunk);
    }
    expect(await nextStatus(client)).toMatchObject({ state: 'running', chunks: 10 });
    expect(await nextStatus(client)).toMatchObject({ state: 'running', chunks: 20 });
    client.send(control('stop', 7));
    sendAudio(client, pcmChunk(26, 7)); // after stop: not recorded
    expect(await nextStatus(client)).toEqual({
      streamId: 7,
      state: 'stopped',
      chunks: 24,
      samples: 24 * 320,
      durationMs: 24 * 20,
      received: 25, // the session counted the frame before start too
      lost: 1,
      reordered: 0,
    });
    const recording = await within(recorded, 2_000, 'the recording');
    expect(recording.chunks).toEqual(sent);
  });

  it('runs streams independently, ignores a second start and a stray stop', async () => {
    const { client, recordings } = await setup();
    const both = firstValueFrom(recordings.pipe(take(2), toArray()));
    client.send(control('stop', 1)); // nothing running: nothing happens
    client.send(control('start', 1));
    client.send(control('start', 2));
    client.send(control('start', 1)); // already running: ignored
    expect(
      (
        await client.until(
          (f) => f.type === 'audio_status' && (f.payload as AudioStatus).streamId === 2,
        )
      ).length,
    ).toBe(2);
    for (let seq = 0; seq < 5; seq++) {
      sendAudio(client, pcmChunk(seq, 1));
      sendAudio(client, pcmChunk(seq, 2));
    }
    sendAudio(client, pcmChunk(5, 2));
    client.send(control('stop', 2));
    client.send(control('stop', 1));
    const stopped = [await nextStatus(client), await nextStatus(client)];
    expect(stopped.map((s) => [s.streamId, s.state, s.chunks])).toEqual([
      [2, 'stopped', 6],
      [1, 'stopped', 5],
    ]);
    expect(client.pending()).toEqual([]);
    const [first, second] = await within(both, 2_000, 'two recordings');
    expect([
      first!.streamId,
      first!.chunks.length,
      second!.streamId,
      second!.chunks.length,
    ]).toEqual([2, 6, 1, 5]);
  });

  it('ends a running pipeline with the session', async () => {
    const { client, recordings } = await setup();
    const recorded = firstValueFrom(recordings);
    client.send(control('start', 3));
    await nextStatus(client);
    sendAudio(client, pcmChunk(0, 3));
    sendAudio(client, pcmChunk(1, 3));
    // Wait until the server has both (a ping is answered after the frames before it).
    const ping = client.send(envelope('$ping'));
    await client.until((f) => f.replyTo === ping);
    client.ws.close(1000);
    const recording = await within(recorded, 2_000, 'the recording at session end');
    expect(recording.chunks.map((c) => c.seq)).toEqual([0, 1]);
    expect(recording.status).toMatchObject({ state: 'stopped', chunks: 2 });
  });
});
