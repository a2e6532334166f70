// Connection limits on real sockets (port 0): maxConnections,
// maxConnectionsPerIp with and without trustProxy, maxHandshakes, the HTTP
// fallback under the same limits, the 503 refusal (no WebSocket opened,
// Retry-After), the counters in server.limits, one log line for a flood, and
// rxwire's client retrying a refusal with backoff until a slot frees up.
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { filter, firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { createClient, type Client, type ConnectionState, type WebSocketConstructor } from 'rxwire';
import {
  ErrorCode,
  RxwireTypeError,
  createServer,
  type AnyProtocol,
  type Session,
} from 'rxwire/server';
import { clientAddress, normalizeAddress } from '../../server/client-address.js';
import { IntervalLog } from '../../server/logger.js';
import { Disposer, RawClient, startServer, until, within } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

type Attempt =
  | { kind: 'open'; ws: WebSocket }
  | { kind: 'refused'; status: number; retryAfter: string | undefined; upgrade: boolean };

/** Tries an upgrade; says whether a WebSocket opened or what the HTTP refusal was. */
function attempt(url: string, headers: Record<string, string> = {}): Promise<Attempt> {
  const ws = new WebSocket(url, { headers });
  disposer.add(() => {
    if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  });
  ws.on('error', () => undefined);
  return within(
    new Promise<Attempt>((resolve, reject) => {
      ws.once('open', () => resolve({ kind: 'open', ws }));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        resolve({
          kind: 'refused',
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          upgrade: res.headers.upgrade !== undefined,
        });
        res.resume();
      });
      ws.once('error', reject);
    }),
    10_000,
    'the upgrade to be answered',
  );
}

/** Collects the server's log lines by level. */
function recordingLogger() {
  const lines: Array<{ level: string; message: string; context: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, context: Record<string, unknown> = {}) =>
      lines.push({ level, message, context });
  return {
    lines,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}

const refusedWith = (status: number, retryAfter: string) => ({
  kind: 'refused',
  status,
  retryAfter,
  upgrade: false,
});

describe('maxConnections', () => {
  it('refuses one more connection with HTTP 503 and Retry-After, opening no WebSocket, until one leaves', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxConnections: 2,
    });
    const sessions: Session[] = [];
    server.sessions$.subscribe((s) => sessions.push(s));
    // One with a session, one still in the handshake: both hold a connection.
    const { client: withSession } = await RawClient.open(url, disposer);
    const inHandshake = await RawClient.connect(url, disposer);
    expect(server.limits).toMatchObject({ connections: 2, handshakes: 1 });

    expect(await attempt(url)).toEqual(refusedWith(503, '5'));
    expect(await attempt(url)).toEqual(refusedWith(503, '5'));
    expect(sessions).toHaveLength(1);
    expect(server.limits).toEqual({
      connections: 2,
      handshakes: 1,
      addresses: 1,
      refused: { maxConnections: 2, maxConnectionsPerIp: 0, maxHandshakes: 0 },
    });

    inHandshake.ws.close();
    await until(() => server.limits.connections === 1, 5_000, 'the slot to free up');
    expect(server.limits.handshakes).toBe(0);
    const next = await attempt(url);
    expect(next.kind).toBe('open');
    expect(withSession.closeInfo).toBeNull(); // nobody else was disturbed
  });

  it('does not count a session waiting for a resume: it holds no connection', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxConnections: 1,
    });
    const { client } = await RawClient.open(url, disposer);
    client.ws.terminate(); // a drop: the session waits for a resume
    await until(() => server.limits.connections === 0, 5_000, 'the connection to go');
    expect(server.sessions.size).toBe(1);
    expect((await attempt(url)).kind).toBe('open');
  });

  it('frees the slot of an upgrade that ws itself refuses (a bad WebSocket handshake)', async () => {
    const { server, port } = await startServer(disposer, {
      heartbeat: false,
      maxConnections: 1,
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        port,
        host: '127.0.0.1',
        path: '/ws',
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400); // no Sec-WebSocket-Key
    await until(() => server.limits.connections === 0, 5_000, 'the slot to free up');
    expect((await attempt(`ws://127.0.0.1:${port}/ws`)).kind).toBe('open');
  });
});

describe('maxConnectionsPerIp and trustProxy', () => {
  it('counts the socket address by default: X-Forwarded-For is a header anyone can send', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxConnectionsPerIp: 1,
    });
    const session = firstValueFrom(server.sessions$);
    await RawClient.open(url, disposer, {}, { headers: { 'X-Forwarded-For': '203.0.113.1' } });
    expect((await session).request.ip).toBe('127.0.0.1');
    expect(await attempt(url, { 'X-Forwarded-For': '203.0.113.2' })).toEqual(refusedWith(503, '5'));
    expect(server.limits.refused).toEqual({
      maxConnections: 0,
      maxConnectionsPerIp: 1,
      maxHandshakes: 0,
    });
  });

  it('with trustProxy: 1 counts the address the proxy recorded, and shows it as session.request.ip', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxConnectionsPerIp: 2,
      trustProxy: 1,
    });
    const ips: string[] = [];
    server.sessions$.subscribe((s) => ips.push(s.request.ip));
    // The client forged the first entry; the proxy appended the address it saw.
    const via = (client: string) => ({ 'X-Forwarded-For': `10.9.9.9, ${client}` });
    await RawClient.open(url, disposer, {}, { headers: via('198.51.100.7') });
    await RawClient.open(url, disposer, {}, { headers: via('198.51.100.7') });
    expect(await attempt(url, via('198.51.100.7'))).toEqual(refusedWith(503, '5'));
    await RawClient.open(url, disposer, {}, { headers: via('198.51.100.8') });
    expect(ips).toEqual(['198.51.100.7', '198.51.100.7', '198.51.100.8']);
    expect(server.limits).toMatchObject({
      connections: 3,
      addresses: 2,
      refused: { maxConnectionsPerIp: 1 },
    });
  });

  it('takes the n-th entry from the right for n proxies, the left-most for true', () => {
    const request = (xff: string | undefined, remoteAddress = '10.0.0.2') =>
      ({
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
        socket: { remoteAddress },
      }) as unknown as IncomingMessage;
    const xff = '203.0.113.9, 10.0.0.7';
    expect(clientAddress(request(xff), false)).toBe('10.0.0.2');
    expect(clientAddress(request(xff), 0)).toBe('10.0.0.2');
    expect(clientAddress(request(xff), 1)).toBe('10.0.0.7');
    expect(clientAddress(request(xff), 2)).toBe('203.0.113.9');
    expect(clientAddress(request(xff), 3)).toBe('203.0.113.9'); // fewer hops than proxies
    expect(clientAddress(request(xff), true)).toBe('203.0.113.9');
    expect(clientAddress(request(undefined), 1)).toBe('10.0.0.2'); // no header: the socket
    expect(clientAddress(request(' , '), true)).toBe('10.0.0.2');
    expect(clientAddress(request('a,b', '::ffff:10.0.0.2'), false)).toBe('10.0.0.2');
    // Two headers arrive joined by Node; entries with ports and brackets as some proxies write them.
    expect(clientAddress(request('203.0.113.9:4711,[2001:DB8::1]:443'), 1)).toBe('2001:db8::1');
    expect(clientAddress(request('203.0.113.9:4711,[2001:DB8::1]:443'), 2)).toBe('203.0.113.9');
  });

  it('normalizes addresses so one client counts once', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(normalizeAddress('[::1]')).toBe('::1');
    expect(normalizeAddress('2001:DB8::A')).toBe('2001:db8::a');
    expect(normalizeAddress('unknown')).toBe('unknown'); // not an address: kept as written
    expect(normalizeAddress('x'.repeat(500))).toHaveLength(64);
  });
});

describe('maxHandshakes', () => {
  it('refuses upgrades while too many connections have no session yet, and frees the slot at $welcome', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxHandshakes: 2,
    });
    const slow = await RawClient.connect(url, disposer);
    const silent = await RawClient.connect(url, disposer);
    expect(await attempt(url)).toEqual(refusedWith(503, '1'));
    expect(server.limits).toMatchObject({
      connections: 2,
      handshakes: 2,
      refused: { maxHandshakes: 1 },
    });

    expect((await slow.hello()).type).toBe('$welcome');
    expect(server.limits).toMatchObject({ connections: 2, handshakes: 1 });
    const third = await attempt(url);
    expect(third.kind).toBe('open');

    // A handshake that ends in a close frees its slot too.
    silent.ws.close();
    await until(() => server.limits.handshakes === 1, 5_000, 'the handshake slot to free up');
    expect((await attempt(url)).kind).toBe('open');
  });

  it('counts a connection whose authenticate has not answered as a handshake', async () => {
    type User = { id: string };
    let answer: (user: User) => void = () => undefined;
    const { server, url } = await startServer<AnyProtocol, User>(disposer, {
      heartbeat: false,
      maxHandshakes: 1,
      authenticate: () => new Promise<User>((resolve) => (answer = resolve)),
    });
    const client = await RawClient.connect(url, disposer);
    const welcome = client.hello({ token: 't' });
    await until(() => server.limits.handshakes === 1, 5_000, 'the handshake');
    expect(await attempt(url)).toEqual(refusedWith(503, '1'));
    answer({ id: 'ann' });
    expect((await welcome).type).toBe('$welcome');
    expect(server.limits.handshakes).toBe(0);
  });
});

describe('refusals in the log', () => {
  it('logs a flood of refusals once, and the count of the rest at close', async () => {
    const { lines, logger } = recordingLogger();
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      maxConnections: 1,
      logger,
    });
    await RawClient.connect(url, disposer);
    for (let i = 0; i < 30; i++) {
      expect(await attempt(url)).toMatchObject({ status: 503 });
    }
    const about = () => lines.filter((l) => l.message.includes('maxConnections'));
    expect(about()[0]).toEqual({
      level: 'warn',
      message: 'refusing connections: maxConnections reached (HTTP 503)',
      context: { ip: '127.0.0.1', limit: 1, refusedSoFar: 1 },
    });
    // One line per 10 s: 30 local refusals take far less (a slow machine may see a second one).
    expect(about().length).toBeLessThanOrEqual(2);
    await server.close();
    const summaries = about().slice(1);
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(2);
    for (const line of summaries) {
      expect(line.message).toMatch(
        /^\d+ more connections refused over maxConnections since the last report$/,
      );
    }
    expect(summaries.reduce((sum, l) => sum + Number(l.context.count), 0)).toBe(29);
    expect(summaries.at(-1)!.context.refusedSoFar).toBe(30);
  });

  it('IntervalLog: at most one line per interval, a summary when it ends, at once again after a quiet one', () => {
    jest.useFakeTimers();
    try {
      const warns: Array<[string, unknown]> = [];
      const noop = () => undefined;
      const logger = {
        debug: noop,
        info: noop,
        error: noop,
        warn: (m: string, c?: unknown) => warns.push([m, c]),
      };
      const log = new IntervalLog(logger, 'refused', 'refusals', 1_000);
      log.report({ n: 1 });
      log.report({ n: 2 });
      log.report({ n: 3 });
      expect(warns).toEqual([['refused', { n: 1 }]]);
      jest.advanceTimersByTime(1_000);
      expect(warns[1]).toEqual(['2 more refusals since the last report', { n: 3, count: 2 }]);
      log.report({ n: 4 }); // within the interval the summary started
      jest.advanceTimersByTime(1_000);
      expect(warns[2]).toEqual(['1 more refusals since the last report', { n: 4, count: 1 }]);
      jest.advanceTimersByTime(1_000); // a quiet interval ends the series
      expect(warns).toHaveLength(3);
      log.report({ n: 5 });
      expect(warns[3]).toEqual(['refused', { n: 5 }]);
      log.report({ n: 6 });
      log.flush();
      expect(warns[4]).toEqual(['1 more refusals since the last report', { n: 6, count: 1 }]);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('the HTTP fallback transport', () => {
  it('obeys the same limits: its event stream is a connection, and one over the limit gets 503', async () => {
    const { server, port, url } = await startServer(disposer, {
      heartbeat: false,
      fallback: true,
      maxConnections: 1,
    });
    const base = `http://127.0.0.1:${port}/ws`;
    const abort = new AbortController();
    disposer.add(() => abort.abort());
    const stream = await fetch(`${base}/http`, { signal: abort.signal });
    expect(stream.status).toBe(200);
    expect(server.limits).toMatchObject({ connections: 1, handshakes: 1 });

    const refused = await fetch(`${base}/http`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    await refused.text();
    expect(await attempt(url)).toEqual(refusedWith(503, '5')); // one count for both transports

    abort.abort();
    await until(() => server.limits.connections === 0, 5_000, 'the stream to end');
    const again = new AbortController();
    disposer.add(() => again.abort());
    expect((await fetch(`${base}/http`, { signal: again.signal })).status).toBe(200);
    expect(server.limits.refused.maxConnections).toBe(2);
  });
});

describe.each(['websocket', 'http'] as const)('rxwire client over %s', (transport) => {
  it('retries a 503 refusal with backoff and connects once a slot frees up', async () => {
    const { server, url } = await startServer(disposer, {
      heartbeat: false,
      fallback: true,
      maxConnections: 1,
    });
    const holder = await RawClient.connect(url, disposer);
    const client: Client = createClient({
      url,
      WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      transports: [transport],
      reconnect: { initialDelay: 50, factor: 2, maxDelay: 400, jitter: 0, maxAttempts: 100 },
    });
    disposer.add(() => client.dispose());
    const waits: ConnectionState[] = [];
    client.state$
      .pipe(filter((s) => s.status === 'reconnecting' && s.retryInMs !== undefined))
      .subscribe((s) => waits.push(s));
    client.connect();

    await until(() => waits.length >= 4, 20_000, 'four refused attempts');
    expect(waits.slice(0, 4).map((s) => s.retryInMs)).toEqual([50, 100, 200, 400]);
    for (const state of waits) {
      expect(state.lastClose).toMatchObject({ code: 1006, httpStatus: 503, cause: 'HTTP 503' });
    }
    expect(server.limits.refused.maxConnections).toBeGreaterThanOrEqual(4);

    holder.ws.close();
    const up = await within(
      firstValueFrom(client.state$.pipe(filter((s) => s.status === 'connected'))),
      20_000,
      'the client to connect',
    );
    expect(up.transport).toBe(transport);
    expect(server.sessions.size).toBe(1);
  });
});

describe('options', () => {
  const make = (options: Record<string, unknown>) => () =>
    createServer({ port: 0, ...options } as Parameters<typeof createServer>[0]);

  it.each([
    ['maxConnections', 0],
    ['maxConnections', -1],
    ['maxConnections', 1.5],
    ['maxConnectionsPerIp', 0],
    ['maxHandshakes', NaN],
    ['trustProxy', -1],
    ['trustProxy', 0.5],
  ])('%s: %p is refused, naming the option', (name, value) => {
    expect(make({ [name]: value })).toThrow(RxwireTypeError);
    expect(make({ [name]: value })).toThrow(name);
  });

  it.each([
    ['maxConnections', '100'],
    ['trustProxy', 'yes'],
  ])('%s: a %p of the wrong type is refused', (name, value) => {
    let error: unknown;
    try {
      make({ [name]: value })();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RxwireTypeError);
    expect(error).toMatchObject({ code: ErrorCode.InvalidOption });
    expect((error as Error).message).toContain(`'${name}' must be`);
  });

  it('suggests the right name for a typo', () => {
    expect(make({ maxConnection: 10 })).toThrow("did you mean 'maxConnections'");
  });

  it('accepts Infinity (no limit) and trustProxy true, false and a count', async () => {
    for (const options of [
      { maxConnections: Infinity, maxConnectionsPerIp: Infinity, maxHandshakes: Infinity },
      { trustProxy: true },
      { trustProxy: false },
      { trustProxy: 2 },
    ]) {
      const server = createServer({ port: 0, ...options });
      await server.ready();
      await server.close();
    }
  });
});
