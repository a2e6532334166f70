// Backpressure: a server that stops reading (its TCP socket paused) makes the
// real client drop audio and count it, with its send buffer bounded by the
// high-water mark; when the server reads again, audio flows again. Progress is
// waited for with events (stats streams), never with sleeps.
import WebSocket from 'ws';
import { firstValueFrom, filter, type Observable } from 'rxjs';
import { createClient, type AudioChunk, type AudioStats } from '../../src/index';
import type { Session, SessionAudioStats } from '../../server/index';
import { Disposer, startServer, within } from '../helpers/server-harness';
import { waitFor } from '../helpers/test-server';

const disposer = new Disposer();
afterEach(() => disposer.drain());

const SAMPLE_RATE = 48_000;
const CHANNELS = 2;
const FRAME_MS = 50;
const HIGH_WATER_MARK_MS = 500;
const samples = new Float32Array((SAMPLE_RATE * CHANNELS * FRAME_MS) / 1000).fill(0.25);
const FRAME_BYTES = samples.byteLength + 24;
const HIGH_WATER_MARK_BYTES = (SAMPLE_RATE * CHANNELS * 4 * HIGH_WATER_MARK_MS) / 1000;

/** The client's sockets, to watch `bufferedAmount` (the memory audio may hold). */
const sockets: WebSocket[] = [];
class WatchedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    sockets.push(this);
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function first<T>(source: Observable<T>, predicate: (value: T) => boolean, what: string) {
  return within(firstValueFrom(source.pipe(filter(predicate))), 15_000, what);
}

describe('audio backpressure against a server that stops reading', () => {
  jest.setTimeout(60_000);

  it('drops and counts, keeps the send buffer bounded, and flows again on resume', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false });
    const sessionP = firstValueFrom(server.sessions$);
    const client = createClient({
      url,
      WebSocketCtor: WatchedWebSocket,
      reconnect: false,
      heartbeat: { interval: 600_000, timeout: 600_000 },
      audio: { highWaterMarkMs: HIGH_WATER_MARK_MS },
    });
    disposer.add(() => client.dispose());
    client.connect();
    await waitFor(client.state$, (s) => s.status === 'connected');
    const session: Session = await sessionP;
    const socket = sockets.at(-1)!;
    let clientStats!: AudioStats;
    client.audioStats$.subscribe((s) => (clientStats = s));
    const serverStats: Observable<SessionAudioStats> = session.audioStats$;
    const received = (s: SessionAudioStats): number => s.streams.get(0)?.received ?? 0;

    let seq = 0;
    let maxBuffered = 0;
    const send = (): void => {
      const chunk: AudioChunk = {
        samples,
        sampleRate: SAMPLE_RATE,
        channels: CHANNELS,
        seq: seq++,
        timestamp: 0,
      };
      client.audio.next(chunk);
      maxBuffered = Math.max(maxBuffered, socket.bufferedAmount);
    };

    // 1. Audio flows.
    for (let i = 0; i < 5; i++) send();
    await first(serverStats, (s) => received(s) === 5, 'the first 5 frames');

    // 2. The server stops reading: its TCP socket is paused.
    session.request.socket.pause();
    const sentBefore = clientStats.sent;
    let rounds = 0;
    while (clientStats.droppedBackpressure < 50) {
      if (++rounds > 20_000) throw new Error(`no backpressure drops after ${seq} frames`);
      send();
      await turn(); // let the socket write what it can
    }
    const sentWhilePaused = clientStats.sent - sentBefore;
    // Bounded: the kernel buffers took some frames, then the client dropped instead of queueing.
    expect(maxBuffered).toBeLessThanOrEqual(HIGH_WATER_MARK_BYTES + FRAME_BYTES);
    expect(sentWhilePaused * FRAME_BYTES).toBeLessThan(64 * 1024 * 1024);
    // More offered while still paused: only drops grow, the buffer does not.
    const dropsAt = clientStats.droppedBackpressure;
    const sentAt = clientStats.sent;
    for (let i = 0; i < 200; i++) send();
    expect(clientStats.droppedBackpressure).toBe(dropsAt + 200);
    expect(clientStats.sent).toBe(sentAt);
    expect(socket.bufferedAmount).toBeLessThanOrEqual(HIGH_WATER_MARK_BYTES + FRAME_BYTES);

    // 3. The server reads again: everything that was sent arrives (or is counted
    // over the server's audio budget), and new audio flows with no new drops.
    session.request.socket.resume();
    const arrived = (s: SessionAudioStats) => received(s) + s.overLimit === clientStats.sent;
    await first(serverStats, arrived, 'the buffered frames after resume');
    // Everything the client handed to its socket has reached the server: nothing waits.
    expect(socket.bufferedAmount).toBe(0);
    const dropsAfterResume = clientStats.droppedBackpressure;
    const target = clientStats.sent + 20;
    while (clientStats.sent < target) {
      send();
      await first(serverStats, arrived, 'a frame after resume');
    }
    expect(clientStats.droppedBackpressure).toBe(dropsAfterResume);
    const stream = session.audioStats.streams.get(0)!;
    // Every sequence number the client used is accounted for on the server.
    expect(stream.lastSeq).toBe(seq - 1);
    expect(stream.received + stream.lost).toBe(seq);
    expect(stream.lost).toBe(clientStats.droppedBackpressure + session.audioStats.overLimit);
  });
});
