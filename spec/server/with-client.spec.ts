// The server with rxwire's own client (createClient over `ws`), on port 0:
// typed routing, request streams with cancel and errors, broadcast with a
// filter, 50 concurrent clients, and reconnection across a server restart.
import { Observable, filter, firstValueFrom, interval, map, take, toArray } from 'rxjs';
import { WebSocket } from 'ws';
import {
  createClient,
  type Client,
  type ClientOptions,
  type ConnectionState,
  type WebSocketConstructor,
} from '../../src/index.js';
import {
  CloseCode,
  ErrorCode,
  RemoteError,
  RxwireError,
  type Protocol,
} from '../../src/protocol/index.js';
import { createServer, type Session } from '../../server/index.js';
import { Disposer, startServer, within } from '../helpers/server-harness.js';

/** The `count` request handler: the integers from `from` up to `to` (exclusive), 1 ms apart. */
const count = ({ from, to }: { from: number; to: number }) =>
  interval(1).pipe(
    take(to - from),
    map((i) => from + i),
  );

interface Chat extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string; by: string }; notice: { text: string } };
  requests: {
    count: { request: { from: number; to: number }; response: number };
    ticks: { request: { everyMs: number }; response: number };
    fail: { request: { coded: boolean }; response: never };
  };
}
type User = { name: string; room: string };

const disposer = new Disposer();
afterEach(() => disposer.drain());

type Transport = 'websocket' | 'http';
/** The transport the suite below runs on (set by its describe.each). */
let transport: Transport = 'websocket';

function connect(
  url: string,
  options: Omit<ClientOptions<Chat['server']>, 'url' | 'WebSocketCtor'> = {},
): Client<Chat> {
  const client = createClient<Chat>({
    url,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
    ...(transport === 'http' ? { transports: ['http'] as const } : {}),
    ...options,
  });
  disposer.add(() => client.dispose());
  return client;
}

function stateWhere(
  client: Client<Chat>,
  match: (s: ConnectionState) => boolean,
  what: string,
  ms = 5_000,
): Promise<ConnectionState> {
  return within(firstValueFrom(client.state$.pipe(filter(match))), ms, what);
}

async function connected(client: Client<Chat>): Promise<string> {
  return (await stateWhere(client, (s) => s.status === 'connected', 'the client to connect'))
    .sessionId!;
}

const userFromToken = (token: string | undefined): User => {
  const [name, room] = (token ?? 'anon@none').split('@');
  return { name: name!, room: room! };
};

// The same scenarios over WebSocket and over the HTTP fallback transport.
describe.each<Transport>(['websocket', 'http'])('with the rxwire client over %s', (name) => {
  beforeAll(() => {
    transport = name;
  });

  it('routes typed messages both ways', async () => {
    const { server, url } = await startServer<Chat, User>(disposer, {
      fallback: true,
      heartbeat: false,
      authenticate: userFromToken,
    });
    server.sessions$.subscribe((session) =>
      session
        .on('say')
        .subscribe(({ text }) => session.send('said', { text, by: session.user.name })),
    );
    const client = connect(url, { token: 'ann@a' });
    const sessionId = await connected(client);
    expect(server.sessions.get(sessionId)?.user).toEqual({ name: 'ann', room: 'a' });
    expect(client.state.transport).toBe(transport);
    expect(server.sessions.get(sessionId)?.transport).toBe(transport);
    const said = firstValueFrom(client.on('said'));
    client.send('say', { text: 'hello' });
    expect(await within(said, 2_000, 'said')).toEqual({ text: 'hello', by: 'ann' });
  });

  it("answers the client's $ping heartbeat, so it measures latency and stays connected", async () => {
    const { url } = await startServer<Chat>(disposer, {
      fallback: true,
      heartbeat: { interval: 40, timeout: 40 },
    });
    const client = connect(url, { heartbeat: { interval: 20, timeout: 500 } });
    await connected(client);
    const latencies = await within(
      firstValueFrom(client.latency$.pipe(take(3), toArray())),
      3_000,
      'three latency samples',
    );
    expect(latencies.every((ms) => ms >= 0 && ms < 500)).toBe(true);
    expect(client.state.status).toBe('connected');
  });

  it('streams request values until $complete', async () => {
    const { server, url } = await startServer<Chat>(disposer, { fallback: true, heartbeat: false });
    server.handle('count', count);
    const client = connect(url);
    await connected(client);
    const values = client.request('count', { from: 5, to: 10 }).pipe(toArray());
    expect(await within(firstValueFrom(values), 3_000, 'the stream')).toEqual([5, 6, 7, 8, 9]);
  });

  it('unsubscribing a request cancels its handler on the server', async () => {
    const { server, url } = await startServer<Chat>(disposer, { fallback: true, heartbeat: false });
    let torndown!: () => void;
    const stopped = new Promise<void>((resolve) => (torndown = resolve));
    server.handle(
      'ticks',
      ({ everyMs }) =>
        new Observable<number>((subscriber) => {
          let n = 0;
          const timer = setInterval(() => subscriber.next(n++), everyMs);
          return () => {
            clearInterval(timer);
            torndown();
          };
        }),
    );
    const client = connect(url);
    await connected(client);
    const firstThree = client.request('ticks', { everyMs: 5 }).pipe(take(3), toArray());
    expect(await within(firstValueFrom(firstThree), 3_000, 'three ticks')).toEqual([0, 1, 2]);
    await within(stopped, 3_000, 'the handler to be unsubscribed by $cancel');
  });

  it('turns handler failures into RemoteErrors for that request only', async () => {
    const { server, url } = await startServer<Chat>(disposer, { fallback: true, heartbeat: false });
    server.handle('fail', ({ coded }) => {
      throw coded ? new RxwireError('QUOTA', 'over quota') : new Error('boom');
    });
    server.handle('count', count);
    const client = connect(url);
    await connected(client);
    const errorOf = (coded: boolean): Promise<unknown> =>
      firstValueFrom(client.request('fail', { coded })).then(
        () => 'no error',
        (e: unknown) => e,
      );
    const [coded, plain, fine] = await Promise.all([
      errorOf(true),
      errorOf(false),
      firstValueFrom(client.request('count', { from: 0, to: 3 }).pipe(toArray())),
    ]);
    expect(coded).toBeInstanceOf(RemoteError);
    expect(coded).toMatchObject({ code: 'QUOTA', message: 'over quota' });
    expect(plain).toMatchObject({ code: ErrorCode.HandlerError, message: 'boom' });
    expect(fine).toEqual([0, 1, 2]);
    expect(client.state.status).toBe('connected');
  });

  it('broadcasts to the sessions a filter picks', async () => {
    const { server, url } = await startServer<Chat, User>(disposer, {
      fallback: true,
      heartbeat: false,
      authenticate: userFromToken,
    });
    const clients = ['ann@a', 'bob@a', 'cy@b'].map((token) => connect(url, { token }));
    await Promise.all(clients.map(connected));
    const firstNotice = clients.map((c) => firstValueFrom(c.on('notice')));
    const inA = (s: Session<Chat, User>): boolean => s.user.room === 'a';
    expect(server.broadcast('notice', { text: 'room a only' }, inA)).toBe(2);
    expect(server.broadcast('notice', { text: 'everyone' })).toBe(3);
    const got = await within(Promise.all(firstNotice), 3_000, 'the notices');
    expect(got.map((n) => n.text)).toEqual(['room a only', 'room a only', 'everyone']);
  });

  it('serves 50 concurrent clients, each with its own request stream and no crosstalk', async () => {
    const { server, url } = await startServer<Chat>(disposer, { fallback: true, heartbeat: false });
    server.handle('count', count);
    const clients = Array.from({ length: 50 }, () => connect(url));
    const ids = await Promise.all(clients.map(connected));
    expect(new Set(ids).size).toBe(50);
    expect(server.sessions.size).toBe(50);
    const results = await within(
      Promise.all(
        clients.map((client, i) =>
          firstValueFrom(
            client.request('count', { from: i * 1000, to: i * 1000 + 25 }).pipe(toArray()),
          ),
        ),
      ),
      15_000,
      '50 request streams',
    );
    results.forEach((values, i) => {
      expect(values).toEqual(Array.from({ length: 25 }, (_, k) => i * 1000 + k));
    });
  });

  it('after close(), every client saw 1001 and reconnects to a new server on the same port', async () => {
    const first = createServer<Chat>({
      port: 0,
      host: '127.0.0.1',
      heartbeat: false,
      fallback: true,
    });
    disposer.add(() => first.close());
    const { port } = await first.ready();
    const url = `ws://127.0.0.1:${port}/ws`;
    const clients = Array.from({ length: 5 }, () =>
      connect(url, { reconnect: { initialDelay: 20, maxDelay: 200, jitter: 0, maxAttempts: 50 } }),
    );
    const oldIds = await Promise.all(clients.map(connected));
    const sawGoingAway = clients.map((c) =>
      stateWhere(c, (s) => s.lastClose?.code === CloseCode.GoingAway, 'a 1001 close'),
    );

    await within(first.close(), 5_000, 'close()');
    await Promise.all(sawGoingAway);

    const second = createServer<Chat>({
      port,
      host: '127.0.0.1',
      heartbeat: false,
      fallback: true,
    });
    disposer.add(() => second.close());
    await second.ready();
    const newIds = await Promise.all(
      clients.map(
        async (c) =>
          (
            await stateWhere(
              c,
              (s) => s.status === 'connected' && !oldIds.includes(s.sessionId!),
              'a reconnect to the new server',
              10_000,
            )
          ).sessionId!,
      ),
    );
    expect(newIds.every((id) => second.sessions.has(id))).toBe(true);
    expect(second.sessions.size).toBe(5);
  });
});
