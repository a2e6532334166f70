// The HTTP fallback transport against the WebSocket one: the same suite, run
// through the real client and server (`fallback: true`) on loopback, over each
// transport; then a proxy that blocks WebSocket upgrades makes the client fall
// back to HTTP and, once upgrades pass again, move back to WebSocket, with
// every message delivered once and in order through both switches.
import { WebSocket } from 'ws';
import { filter, finalize, firstValueFrom, interval, map, take, toArray } from 'rxjs';
import {
  createClient,
  type AudioChunk,
  type Client,
  type ClientOptions,
  type SessionInfo,
  type WebSocketConstructor,
} from '../../src/index.js';
import type { Protocol } from '../../src/protocol/index.js';
import type { Session } from '../../server/index.js';
import type { ServerOptions } from '../../server/options.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { Disposer, connected, startServer, until, within } from '../helpers/server-harness.js';
import { startUpgradeBlocker } from '../helpers/upgrade-blocker.js';

interface Api extends Protocol {
  client: { up: { n: number }; hello: { text: string } };
  server: { down: { n: number }; greeting: { text: string; transport: string } };
  requests: { ticks: { request: { everyMs: number }; response: number } };
}

type Transport = 'websocket' | 'http';

const disposer = new Disposer();
afterEach(() => disposer.drain());
jest.setTimeout(20_000);

async function setup(options: Omit<ServerOptions<Api, unknown>, 'server' | 'port'> = {}) {
  const { server, port, url } = await startServer<Api>(disposer, {
    heartbeat: false,
    fallback: true,
    ...options,
  });
  const sessions: Session<Api>[] = [];
  server.sessions$.subscribe((s) => sessions.push(s));
  return { server, port, url, sessions };
}

function connect(
  url: string,
  transport: Transport,
  options: ClientOptions<Api['server']> = {},
): Client<Api> {
  const client = createClient<Api>({
    url,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelay: 20, maxDelay: 200, maxAttempts: Infinity },
    heartbeat: { interval: 200, timeout: 2_000 },
    ...(transport === 'http' ? { transports: ['http'] as const } : {}),
    ...options,
  });
  disposer.add(() => client.dispose());
  return client;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.each<Transport>(['websocket', 'http'])('over %s', (transport) => {
  it('does the handshake and carries typed messages both ways; session.transport says which', async () => {
    const { url, sessions } = await setup();
    const client = connect(url, transport);
    const state = await connected(client);
    expect(state.transport).toBe(transport);
    const session = sessions[0]!;
    expect(session.transport).toBe(transport);
    expect(session.id).toBe(state.sessionId);

    const hello = firstValueFrom(session.on('hello'));
    client.send('hello', { text: 'hi from the client' });
    expect(await within(hello, 5_000, 'the hello')).toEqual({ text: 'hi from the client' });

    const greeting = firstValueFrom(client.on('greeting'));
    session.send('greeting', { text: 'hi from the server', transport: session.transport });
    expect(await within(greeting, 5_000, 'the greeting')).toEqual({
      text: 'hi from the server',
      transport,
    });

    // A goodbye from the client ends the session with its code.
    const closed = firstValueFrom(session.closed$);
    const gone = firstValueFrom(client.state$.pipe(filter((s) => s.status === 'disconnected')));
    client.disconnect(1000, 'bye');
    expect(await within(closed, 5_000, 'the session to end')).toMatchObject({
      code: 1000,
      reason: 'bye',
    });
    expect(await within(gone, 5_000, 'the client to disconnect')).toMatchObject({
      lastClose: { code: 1000, reason: 'bye', wasClean: true },
    });
  });

  it('streams a request and cancels it: the handler is unsubscribed', async () => {
    const { server, url } = await setup();
    let unsubscribed!: () => void;
    const handlerGone = new Promise<void>((resolve) => (unsubscribed = resolve));
    server.handle('ticks', ({ everyMs }) => interval(everyMs).pipe(finalize(() => unsubscribed())));
    const client = connect(url, transport);
    await connected(client);
    const values = await within(
      firstValueFrom(client.request('ticks', { everyMs: 10 }).pipe(take(4), toArray())),
      5_000,
      'four ticks',
    );
    expect(values).toEqual([0, 1, 2, 3]);
    await within(handlerGone, 5_000, 'the server handler to be unsubscribed');
  });

  it('measures the heartbeat latency; the server heartbeat keeps the connection up', async () => {
    const { url, sessions } = await setup({ heartbeat: { interval: 100, timeout: 400 } });
    const client = connect(url, transport, { heartbeat: { interval: 50, timeout: 1_000 } });
    await connected(client);
    // Five $ping/$pong round trips, about 250 ms, spanning a few server heartbeat sweeps.
    const rtts = await within(
      firstValueFrom(client.latency$.pipe(take(5), toArray())),
      5_000,
      'five heartbeat round trips',
    );
    for (const rtt of rtts) expect(rtt).toBeGreaterThanOrEqual(0);
    expect(client.state.latencyMs).toBe(rtts.at(-1));
    expect(client.state.status).toBe('connected');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.connected).toBe(true);
    expect(sessions[0]!.delivery.resumes).toBe(0);
  });

  it('delivers every message exactly once, in order, both ways, across cuts', async () => {
    const { port, sessions } = await setup({ rateLimit: false });
    const proxy = await startFaultProxy({ target: { port }, seed: 7 });
    disposer.add(() => proxy.close());
    const client = connect(`${proxy.url}/ws`, transport);
    await connected(client);
    const session = sessions[0]!;
    const atServer: number[] = [];
    session.on('up').subscribe(({ n }) => atServer.push(n));
    const atClient: number[] = [];
    client.on('down').subscribe(({ n }) => atClient.push(n));

    const total = 400;
    for (let i = 0; i < total; i++) {
      client.send('up', { n: i });
      session.send('down', { n: i });
      if (i % 100 === 50) proxy.cutAll();
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(
      () => atServer.length >= total && atClient.length >= total,
      15_000,
      'every message',
    );
    expect(atServer).toEqual(range(total));
    expect(atClient).toEqual(range(total));
    expect(sessions).toHaveLength(1);
    expect(session.delivery.resumes).toBeGreaterThanOrEqual(1);
    expect(session.transport).toBe(transport);
    expect(client.state).toMatchObject({ sessionId: session.id, transport });
  });

  it('carries audio frames from client.audio to session.audio$', async () => {
    const { sessions, url } = await setup();
    const client = connect(url, transport, { audio: { highWaterMarkMs: 60_000 } });
    await connected(client);
    const session = sessions[0]!;
    const count = 25;
    const received = firstValueFrom(session.audio$.pipe(take(count), toArray()));
    const sent: AudioChunk[] = range(count).map((seq) => ({
      samples: Int16Array.from({ length: 320 }, (_, i) => ((i * 97 + seq * 31) % 65536) - 32768),
      sampleRate: 16_000,
      channels: 1,
      seq,
      timestamp: 1_700_000_000_000 + seq * 20,
      streamId: 3,
    }));
    for (const chunk of sent) client.audio.next(chunk);
    const chunks = await within(received, 5_000, 'the audio frames');
    expect(chunks.map((c) => c.seq)).toEqual(range(count));
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk).toMatchObject({ sampleRate: 16_000, channels: 1, streamId: 3 });
      expect(chunk.timestamp).toBe(sent[i]!.timestamp);
      expect(Array.from(chunk.samples)).toEqual(Array.from(sent[i]!.samples));
    }
    expect(session.audioStats.streams.get(3)).toMatchObject({ received: count, lost: 0 });
    expect(session.transport).toBe(transport);
  });
});

describe('fallback to HTTP when WebSocket upgrades are blocked', () => {
  it('falls back, moves back to WebSocket when upgrades pass, and loses or repeats nothing', async () => {
    const { port, sessions } = await setup({ rateLimit: false });
    const blocker = await startUpgradeBlocker({ target: { port }, blockUpgrades: true });
    disposer.add(() => blocker.close());
    const client = connect(`${blocker.url}/ws`, 'websocket', {
      transports: ['websocket', 'http'],
      fallbackAfter: 2,
      probeInterval: 300,
    });
    const infos: SessionInfo[] = [];
    client.sessions$.subscribe((info) => infos.push(info));
    const transports: string[] = [];
    client.state$
      .pipe(map((s) => s.transport))
      .subscribe((t) => (transports.at(-1) === t ? undefined : transports.push(t)));

    const onHttp = await connected(client);
    expect(onHttp.transport).toBe('http');
    expect(blocker.stats.upgradesRefused).toBeGreaterThanOrEqual(2);
    const session = sessions[0]!;
    expect(session.transport).toBe('http');

    const atServer: number[] = [];
    session.on('up').subscribe(({ n }) => atServer.push(n));
    const atClient: number[] = [];
    client.on('down').subscribe(({ n }) => atClient.push(n));
    let up = 0;
    let down = 0;
    // Messages flow continuously, through both switches.
    const pump = setInterval(() => {
      for (let i = 0; i < 3; i++) {
        client.send('up', { n: up++ });
        session.send('down', { n: down++ });
      }
    }, 4);
    disposer.add(() => clearInterval(pump));

    // Numbered messages both ways over HTTP; the probes keep failing meanwhile.
    await until(
      () => atServer.length >= 60 && atClient.length >= 60,
      5_000,
      '60 messages over HTTP',
    );
    const refusedBefore = blocker.stats.upgradesRefused;
    await until(
      () => blocker.stats.upgradesRefused > refusedBefore,
      5_000,
      'a WebSocket probe to be refused',
    );
    expect(client.state).toMatchObject({ status: 'connected', transport: 'http' });

    // Upgrades pass again: the next probe opens, and the session moves to WebSocket.
    blocker.blockUpgrades = false;
    await until(
      () => client.state.status === 'connected' && client.state.transport === 'websocket',
      5_000,
      'the client to move back to WebSocket',
    );
    expect(session.transport).toBe('websocket');
    const mark = { up: atServer.length, down: atClient.length };
    await until(
      () => atServer.length >= mark.up + 60 && atClient.length >= mark.down + 60,
      5_000,
      '60 more messages over WebSocket',
    );
    clearInterval(pump);
    await until(() => atServer.length >= up && atClient.length >= down, 5_000, 'every message');

    expect(atServer).toEqual(range(up));
    expect(atClient).toEqual(range(down));
    expect(sessions).toHaveLength(1);
    expect(infos.map((i) => i.resumed)).toEqual([false, true]);
    expect(infos.every((i) => i.sessionId === session.id)).toBe(true);
    expect(transports).toEqual(['websocket', 'http', 'websocket']);
    expect(session.delivery.resumes).toBe(1);
    expect(blocker.stats.upgradesPassed).toBeGreaterThanOrEqual(2); // the probe, then the attempt
  });
});
