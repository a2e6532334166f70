import WebSocket from 'ws';
import { toArray, take, firstValueFrom } from 'rxjs';
import { createClient, type Client, type ClientOptions, type RxwireError } from '../../src/index';
import { TestServer, waitFor } from '../helpers/test-server';

interface Proto {
  client: { echo: { n: number }; note: string };
  server: { echo: { n: number }; news: string };
  requests: { count: { request: { to: number }; response: number } };
}

describe('client against a real ws server on port 0', () => {
  let server: TestServer;
  const clients: Client<Proto>[] = [];

  const connect = (options: ClientOptions<Proto['server']> = {}) => {
    const client = createClient<Proto>({
      url: server.url,
      WebSocketCtor: WebSocket,
      reconnect: { initialDelay: 20, maxDelay: 200, maxAttempts: 50 },
      ...options,
    });
    clients.push(client);
    return client;
  };
  const connected = (client: Client<Proto>) =>
    waitFor(client.state$, (s) => s.status === 'connected');

  beforeEach(async () => {
    server = new TestServer();
    await server.start();
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.dispose());
    await server.stop();
  });

  it('handshakes with a token, then carries messages both ways, routed by type', async () => {
    const client = connect({ token: async () => 'tok-1' });
    const state = await connected(client);
    expect(state.sessionId).toMatch(/^test-/);
    expect(state.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.tokens).toEqual(['tok-1']);

    const echoes = firstValueFrom(client.on('echo').pipe(take(3), toArray()));
    const news = firstValueFrom(client.on('news'));
    for (const n of [1, 2, 3]) client.send('echo', { n });
    server.broadcast('news', 'extra');
    expect(await echoes).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await news).toBe('extra');
  });

  it('streams a request to completion and cancels one on unsubscribe', async () => {
    const client = connect();
    await connected(client);
    expect(await firstValueFrom(client.request('count', { to: 4 }).pipe(toArray()))).toEqual([
      1, 2, 3, 4,
    ]);
    expect(server.cancelled).toEqual([]);
    // take(2) unsubscribes after two values: the client must send $cancel for that request
    expect(
      await firstValueFrom(client.request('count', { to: 1000 }).pipe(take(2), toArray())),
    ).toEqual([1, 2]);
    await server.until(() => server.cancelled.length === 1, 10_000, '$cancel');
    expect(server.cancelled).toEqual([server.received[1]!.id]);
  });

  it('queues while the server restarts on the same port and flushes in order, once', async () => {
    const client = connect();
    await connected(client);
    client.send('note', 'before');
    await server.waitForMessages(1);

    const port = server.port;
    await server.stop(1001);
    await waitFor(client.state$, (s) => s.status === 'reconnecting');
    for (let i = 1; i <= 20; i++) client.send('note', `offline-${i}`);
    expect(client.state.queued).toBe(20);

    await server.start(port);
    await waitFor(client.state$, (s) => s.status === 'connected' && s.queued === 0);
    client.send('note', 'after');
    const all = await server.waitForMessages(22);
    expect(all.map((m) => m.payload)).toEqual([
      'before',
      ...Array.from({ length: 20 }, (_, i) => `offline-${i + 1}`),
      'after',
    ]);
    expect(client.state.lastClose).toMatchObject({ code: 1001 });
  });

  it('reports malformed frames from the server and keeps the connection', async () => {
    const client = connect();
    await connected(client);
    const errors: RxwireError[] = [];
    client.errors$.subscribe((e) => errors.push(e));
    const news = firstValueFrom(client.on('news'));
    server.broadcastRaw('{"broken');
    server.broadcastRaw('{"type":"news"}');
    server.broadcastRaw(Buffer.from([0xde, 0xad]));
    server.broadcast('news', 'fine');
    expect(await news).toBe('fine');
    expect(errors.map((e) => e.code)).toEqual([
      'RXWIRE_BAD_JSON',
      'RXWIRE_BAD_ENVELOPE',
      'RXWIRE_BAD_BINARY_FRAME',
    ]);
    expect(client.state.status).toBe('connected');
  });

  it('stops with RXWIRE_UNAUTHORIZED after a refused token and its one retry', async () => {
    const client = connect({ token: () => 'bad' });
    const state = await waitFor(client.state$, (s) => s.status === 'error');
    expect(state.error).toMatchObject({ code: 'RXWIRE_UNAUTHORIZED' });
    expect(server.tokens).toEqual(['bad', 'bad']);
  });

  it('measures latency with real $ping/$pong', async () => {
    const client = connect({ heartbeat: { interval: 30, timeout: 1000 } });
    await connected(client);
    const samples = await firstValueFrom(client.latency$.pipe(take(3), toArray()));
    expect(samples.every((ms) => ms >= 0 && ms < 1000)).toBe(true);
  });

  it('gives up with status error when nothing listens', async () => {
    const port = server.port;
    await server.stop();
    const client = createClient({
      url: `ws://127.0.0.1:${port}/ws`,
      WebSocketCtor: WebSocket,
      reconnect: { initialDelay: 5, maxDelay: 10, maxAttempts: 3 },
    });
    clients.push(client as unknown as Client<Proto>);
    const state = await waitFor(client.state$, (s) => s.status === 'error');
    expect(state).toMatchObject({
      attempt: 3,
      error: { code: 'RXWIRE_RECONNECT_FAILED' },
      lastClose: { code: 1006 },
    });
    await server.start(port); // afterEach stops it again
  });
});
