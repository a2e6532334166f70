// The server on real sockets (port 0), spoken to by a raw `ws` client.
import express from 'express';
import { createServer as createHttpServer } from 'node:http';
import { firstValueFrom, map, of, take, timer, toArray } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode, ErrorCode, type Protocol } from '../../src/protocol/index.js';
import { createServer, type Session } from '../../server/index.js';
import { Disposer, RawClient, envelope, startServer, within } from '../helpers/server-harness.js';

interface Chat extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: { count: { request: { to: number }; response: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

describe('over a real socket', () => {
  it('does the handshake, routes messages, answers pings and streams requests', async () => {
    const { server, url } = await startServer<Chat>(disposer, { heartbeat: false });
    server.handle('count', ({ to }) => timer(0, 1).pipe(take(to)));
    const sessions = firstValueFrom(server.sessions$);
    const { client, welcome } = await RawClient.open(url, disposer, { client: 'raw-test' });
    const session = await sessions;
    expect(welcome.payload).toEqual({
      v: 1,
      sessionId: session.id,
      resumeToken: expect.stringMatching(/^[\w-]{32}$/),
      resumed: false,
      ack: 0,
      recoveryWindowMs: 120_000,
    });
    expect(server.sessions.get(session.id)).toBe(session);

    session.on('say').subscribe(({ text }) => session.send('said', { text: text.toUpperCase() }));
    client.send(envelope('say', { text: 'hi' }));
    expect(await client.next()).toMatchObject({ type: 'said', seq: 1, payload: { text: 'HI' } });

    const ping = client.send(envelope('$ping'));
    expect(await client.next()).toMatchObject({ type: '$pong', replyTo: ping });

    const id = client.request('count', { to: 3 });
    const frames = await client.until((f) => f.type === '$complete');
    expect(frames.map((f) => [f.type, f.replyTo, f.payload])).toEqual([
      ['$next', id, 0],
      ['$next', id, 1],
      ['$next', id, 2],
      ['$complete', id, null],
    ]);
  });

  it('completes the session and leaves sessions when the client disconnects (1000)', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false });
    const sessions = firstValueFrom(server.sessions$);
    const { client } = await RawClient.open(url, disposer);
    const session = await sessions;
    const messages = firstValueFrom(session.messages$.pipe(toArray()));
    client.ws.close(1000, 'bye');
    expect(await within(firstValueFrom(session.closed$), 2_000, 'closed$')).toEqual({
      code: 1000,
      reason: 'bye',
    });
    expect(await messages).toEqual([]);
    expect(server.sessions.size).toBe(0);
  });

  it('closes 4408 when the client never says $hello', async () => {
    const { server, url } = await startServer(disposer, { helloTimeout: 50, heartbeat: false });
    const seen: Session[] = [];
    server.sessions$.subscribe((s) => seen.push(s));
    const client = await RawClient.connect(url, disposer);
    expect(await client.waitClosed()).toEqual({
      code: CloseCode.HelloTimeout,
      reason: 'no $hello within 50 ms',
    });
    expect(seen).toEqual([]);
  });

  it('closes 4400 when the first frame is not $hello', async () => {
    const { url } = await startServer(disposer, { heartbeat: false });
    const client = await RawClient.connect(url, disposer);
    client.send(envelope('say', { text: 'too early' }));
    expect((await client.waitClosed()).code).toBe(CloseCode.BadRequest);
    expect(client.pending()).toEqual([]);
  });

  it('answers a binary frame with $error RXWIRE_BAD_BINARY_FRAME and stays up', async () => {
    const { url } = await startServer(disposer, { heartbeat: false });
    const { client } = await RawClient.open(url, disposer);
    client.sendRaw(Buffer.from([1, 2, 3, 4]));
    expect(await client.next()).toMatchObject({
      type: '$error',
      payload: { code: ErrorCode.BadBinaryFrame },
    });
    const ping = client.send(envelope('$ping'));
    expect(await client.next()).toMatchObject({ type: '$pong', replyTo: ping });
  });

  it('closes 1009 on a frame over maxPayload, leaving other sessions alone', async () => {
    const { url } = await startServer(disposer, { maxPayload: 1024, heartbeat: false });
    const { client: big } = await RawClient.open(url, disposer);
    const { client: other } = await RawClient.open(url, disposer);
    big.send(envelope('say', { text: 'x'.repeat(2048) }));
    expect((await big.waitClosed()).code).toBe(CloseCode.MessageTooBig);
    const ping = other.send(envelope('$ping'));
    expect(await other.next()).toMatchObject({ type: '$pong', replyTo: ping });
  });

  it('closes 1007 on a text frame that is not UTF-8 (ws checks it before rxwire sees it)', async () => {
    const { url } = await startServer(disposer, { heartbeat: false });
    const { client } = await RawClient.open(url, disposer);
    client.ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
    expect((await client.waitClosed()).code).toBe(1007);
  });

  it('closes 4429 on a flood, leaving other sessions alone', async () => {
    const { url } = await startServer(disposer, {
      rateLimit: { messages: 50, perMs: 1_000 },
      heartbeat: false,
    });
    const { client: flood } = await RawClient.open(url, disposer);
    const { client: calm } = await RawClient.open(url, disposer);
    for (let i = 0; i < 200; i++) flood.send(envelope('say', { text: String(i) }));
    expect(await flood.waitClosed()).toEqual({
      code: CloseCode.TooManyRequests,
      reason: 'rate limit exceeded',
    });
    const ping = calm.send(envelope('$ping'));
    expect(await calm.next()).toMatchObject({ type: '$pong', replyTo: ping });
  });
});

describe('sharing the http server', () => {
  it('shares a port with Express and leaves other upgrade paths to other servers', async () => {
    const app = express();
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    const http = createHttpServer(app);
    const other = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') {
        other.handleUpgrade(req, socket, head, (ws) => ws.send('from the other server'));
      }
    });
    disposer.add(() => other.close());
    const { port, url } = await startServer(disposer, { heartbeat: false }, http);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await health.json()).toEqual({ ok: true });

    const otherWs = new WebSocket(`ws://127.0.0.1:${port}/other`);
    disposer.add(() => otherWs.terminate());
    const first = await within(
      new Promise<string>((resolve) => otherWs.once('message', (d) => resolve(String(d)))),
      2_000,
      'the other server',
    );
    expect(first).toBe('from the other server');

    const { welcome } = await RawClient.open(url, disposer);
    expect(welcome.type).toBe('$welcome');
  });

  it('serves a custom path and ignores the query string', async () => {
    const { port } = await startServer(disposer, { path: '/rt', heartbeat: false });
    const { welcome } = await RawClient.open(`ws://127.0.0.1:${port}/rt?x=1`, disposer);
    expect(welcome.type).toBe('$welcome');
  });
});

describe('standalone (`port`)', () => {
  it('listens on its own http server: 426 for plain HTTP, 404 for other upgrade paths', async () => {
    const server = createServer({ port: 0, host: '127.0.0.1', heartbeat: false });
    disposer.add(() => server.close());
    const { port } = await server.ready();
    const plain = await fetch(`http://127.0.0.1:${port}/ws`);
    expect(plain.status).toBe(426);
    await expect(
      RawClient.connect(`ws://127.0.0.1:${port}/elsewhere`, disposer),
    ).rejects.toMatchObject({
      status: 404,
    });
    const { welcome } = await RawClient.open(`ws://127.0.0.1:${port}/ws`, disposer);
    expect(welcome.type).toBe('$welcome');
  });

  it('rejects ready() when the port is taken, without crashing', async () => {
    const first = createServer({ port: 0, host: '127.0.0.1', heartbeat: false });
    disposer.add(() => first.close());
    const { port } = await first.ready();
    const second = createServer({ port, host: '127.0.0.1', heartbeat: false });
    disposer.add(() => second.close());
    await expect(second.ready()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('broadcast over sockets', () => {
  it('reaches the sessions the filter picks', async () => {
    interface Rooms extends Protocol {
      client: object;
      server: { notice: string };
    }
    const { server, url } = await startServer<Rooms, { room: string }>(disposer, {
      heartbeat: false,
      authenticate: (token) => ({ room: token ?? 'none' }),
    });
    const a = (await RawClient.open(url, disposer, { token: 'a' })).client;
    const b = (await RawClient.open(url, disposer, { token: 'b' })).client;
    expect(server.broadcast('notice', 'for a', (s) => s.user.room === 'a')).toBe(1);
    expect(server.broadcast('notice', 'for all')).toBe(2);
    expect((await a.next()).payload).toBe('for a');
    expect((await a.next()).payload).toBe('for all');
    expect((await b.next()).payload).toBe('for all');
  });

  it('encodes the payload once for every session, each copy with its own seq', async () => {
    interface Feed extends Protocol {
      client: object;
      server: { tick: { n: number } };
    }
    const { server, url } = await startServer<Feed>(disposer, { heartbeat: false });
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push((await RawClient.open(url, disposer)).client);
    expect(server.sessions.size).toBe(3);
    // The first session gets a message of its own first: its numbering differs from here on.
    server.sessions.values().next().value!.send('tick', { n: 0 });
    let encodes = 0;
    const payload = {
      n: 1,
      toJSON() {
        encodes += 1;
        return { n: this.n };
      },
    };
    expect(server.broadcast('tick', payload)).toBe(3);
    expect(encodes).toBe(1);
    expect(await clients[0]!.next()).toMatchObject({ type: 'tick', payload: { n: 0 }, seq: 1 });
    const got = [];
    for (const client of clients) {
      const frame = await client.next();
      got.push([frame.type, frame.payload, frame.seq]);
    }
    expect(got).toEqual([
      ['tick', { n: 1 }, 2],
      ['tick', { n: 1 }, 1],
      ['tick', { n: 1 }, 1],
    ]);
  });

  it('keeps serving while a handler maps values', async () => {
    const { server, url } = await startServer<Chat>(disposer, { heartbeat: false });
    server.handle('count', ({ to }) => of(to).pipe(map((n) => n * 2)));
    const { client } = await RawClient.open(url, disposer);
    const id = client.request('count', { to: 21 });
    expect(await client.next()).toMatchObject({ type: '$next', replyTo: id, payload: 42 });
  });
});
