// Frames sent to one socket in one turn of the event loop leave in one write
// (a corked stream, uncorked at the end of the turn), on the server and on a
// Node client; frames of different turns are not held back. Observed where the
// stream hands its data to the kernel: its `_write` / `_writev` calls.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { firstValueFrom, take, toArray } from 'rxjs';
import { createClient, type Client } from '../../src/index';
import type { Session } from '../../server/index';
import { Disposer, connected, startServer, within } from '../helpers/server-harness';

const disposer = new Disposer();
afterEach(() => disposer.drain());

type WriteFn = (this: Duplex, ...args: unknown[]) => unknown;
type Internals = {
  _write: WriteFn;
  _writev?: (this: Duplex, chunks: unknown[], cb: unknown) => unknown;
};

/** Records, per `_write` or `_writev` call of `stream`, how many chunks it carried. */
function recordWrites(stream: Duplex): number[] {
  const calls: number[] = [];
  const s = stream as unknown as Internals;
  const write = s._write;
  const writev = s._writev;
  s._write = function (...args) {
    calls.push(1);
    return write.apply(this, args);
  };
  if (writev) {
    s._writev = function (chunks, cb) {
      calls.push(chunks.length);
      return writev.call(this, chunks, cb);
    };
  }
  return calls;
}

/** The client streams' write records, one per socket the client opened. */
const clientWrites: number[][] = [];
class RecordedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.once('upgrade', (response: IncomingMessage) =>
      clientWrites.push(recordWrites(response.socket)),
    );
  }
}

/** A connected client and its session, with both ends' write records cleared of the handshake. */
async function setUp(): Promise<{
  client: Client;
  session: Session;
  serverWrites: number[];
  clientWrites: number[];
}> {
  const { server, http, url } = await startServer(disposer, { heartbeat: false });
  const serverStreams: number[][] = [];
  // Before rxwire's own listener, so the handshake is recorded too (and then cleared).
  http.prependListener('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    serverStreams.push(recordWrites(socket));
  });
  const sessionP = firstValueFrom(server.sessions$);
  const client = createClient({
    url,
    WebSocketCtor: RecordedWebSocket,
    reconnect: false,
    heartbeat: false,
  });
  disposer.add(() => client.dispose());
  client.connect();
  await connected(client);
  const session = await within(sessionP, 5_000, 'the session');
  const serverWrites = serverStreams[0]!;
  const writes = clientWrites.at(-1)!;
  serverWrites.length = 0;
  writes.length = 0;
  return { client, session, serverWrites, clientWrites: writes };
}

const numbers = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('write coalescing', () => {
  it('the server writes the 50 messages it sends in one turn with one writev, in order', async () => {
    const { client, session, serverWrites } = await setUp();
    const got = firstValueFrom(client.on('n').pipe(take(50), toArray()));
    for (const n of numbers(50)) session.send('n', n);
    expect(await within(got, 5_000, '50 messages')).toEqual(numbers(50));
    // One call, carrying every frame (ws writes a text frame as header + data).
    expect(serverWrites).toEqual([100]);
  });

  it('the client writes the 50 messages it sends in one turn with one writev, in order', async () => {
    const { client, session, clientWrites: writes } = await setUp();
    const got = firstValueFrom(session.on('n').pipe(take(50), toArray()));
    for (const n of numbers(50)) client.send('n', n);
    expect(await within(got, 5_000, '50 messages')).toEqual(numbers(50));
    expect(writes).toEqual([100]);
  });

  it('the client writes 20 audio frames sent in one turn with one writev', async () => {
    const { client, session, clientWrites: writes } = await setUp();
    const got = firstValueFrom(session.audio$.pipe(take(20), toArray()));
    const samples = new Int16Array(320).fill(7);
    for (const seq of numbers(20)) {
      client.audio.next({ samples, sampleRate: 16_000, channels: 1, seq, timestamp: seq * 20 });
    }
    const chunks = await within(got, 5_000, '20 audio frames');
    expect(chunks.map((c) => c.seq)).toEqual(numbers(20));
    expect(chunks.every((c) => c.samples.length === 320 && c.samples[319] === 7)).toBe(true);
    expect(writes).toEqual([20]); // a masked binary frame is one chunk
  });

  it('holds nothing past its turn: a message sent alone arrives before the next is sent', async () => {
    const { client, session, serverWrites, clientWrites: writes } = await setUp();
    for (const n of numbers(3)) {
      const back = firstValueFrom(client.on('n'));
      const there = firstValueFrom(session.on('n'));
      session.send('n', n);
      client.send('n', n);
      expect(await within(back, 5_000, `message ${n} at the client`)).toBe(n);
      expect(await within(there, 5_000, `message ${n} at the server`)).toBe(n);
    }
    // No call carried more than one frame (header + data): nothing was merged
    // across turns. (Acks may add frames of their own, on their own tick.)
    for (const calls of [writes, serverWrites]) {
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...calls)).toBeLessThanOrEqual(2);
    }
  });
});
