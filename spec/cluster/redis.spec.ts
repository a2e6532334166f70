// The cluster on a real redis-server (a private one per file, on a free port):
// the Lua scripts, pub/sub, and what an outage and an empty restart do.
import { connect as connectTcp, type Socket } from 'node:net';
import { createClient } from 'redis';
import { firstValueFrom, filter } from 'rxjs';
import { CloseCode, ErrorCode, type Protocol } from '../../src/protocol/index.js';
import type { ServerOptions, Session } from '../../server/index.js';
import { redisCluster } from '../../cluster/index.js';
import { RedisServer, hasRedisServer } from '../helpers/redis-server.js';
import {
  Disposer,
  RawClient,
  connected,
  envelope,
  startServer,
  until,
  within,
  type TestServer,
} from '../helpers/server-harness.js';
import { startSwitchProxy } from '../helpers/switch-proxy.js';
import { fastClient } from './helpers.js';

interface Api extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number }; news: { n: number } };
}

const SECRET = 'a cluster secret that is long enough to be safe';
const describeRedis = hasRedisServer() ? describe : describe.skip;
const disposer = new Disposer();
let redis: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  if (hasRedisServer()) redis = await RedisServer.start();
});
afterAll(() => redis?.stop());
afterEach(() => disposer.drain());

async function nodes(
  ids: readonly string[],
  options: Omit<ServerOptions<Api>, 'server' | 'port'> = {},
  cluster: { nodeTtl?: number; handoverTimeout?: number } = {},
): Promise<Array<TestServer<Api, unknown>>> {
  const prefix = `t${++prefixes}`;
  const out: Array<TestServer<Api, unknown>> = [];
  for (const nodeId of ids) {
    out.push(
      await startServer<Api>(disposer, {
        heartbeat: false,
        ...options,
        cluster: redisCluster({
          url: redis.url,
          secret: SECRET,
          prefix,
          nodeId,
          nodeTtl: 2_000,
          ...cluster,
        }),
      }),
    );
  }
  await Promise.all(
    out.map((n) => until(() => n.server.cluster!.state === 'up', 10_000, `${n.server.nodeId} up`)),
  );
  return out;
}

describeRedis('redisCluster', () => {
  it('moves a session between nodes, replays broadcasts, routes sendTo, and counts it all', async () => {
    const [a, b] = await nodes(['a', 'b']);
    const proxy = await startSwitchProxy(a!.port);
    disposer.add(() => proxy.close());
    const client = fastClient<Api>(disposer, proxy.url, {
      reconnect: { initialDelay: 200, maxDelay: 200, jitter: 0, maxAttempts: 100 },
    });
    const first = await connected(client);
    const news: number[] = [];
    const down: number[] = [];
    client.on('news').subscribe(({ n }) => news.push(n));
    client.on('down').subscribe(({ n }) => down.push(n));
    const onA = [...a!.server.sessions.values()][0] as Session<Api>;
    const closedA = firstValueFrom(onA.closed$);
    await until(() => b!.server.presence.length === 1, 5_000, 'presence on b');
    expect(b!.server.presence[0]).toMatchObject({
      sessionId: first.sessionId,
      nodeId: 'a',
      connected: true,
    });

    b!.server.broadcast('news', { n: 1 });
    await within(b!.server.sendTo(first.sessionId!, 'down', { n: 1 }), 5_000, 'sendTo a → b');
    await until(() => news.length === 1 && down.length === 1, 5_000, 'both on a');

    const movedIn = firstValueFrom(b!.server.sessions$.pipe(filter((s) => s.movedFrom === 'a')));
    proxy.target(b!.port);
    proxy.cutAll(); // the client waits 200 ms: meanwhile it is detached on a
    a!.server.broadcast('news', { n: 2 });
    const sent = a!.server.sendTo(first.sessionId!, 'down', { n: 2 });
    const moved = await within(movedIn, 10_000, 'the move');
    expect(moved.id).toBe(first.sessionId);
    await within(sent, 5_000, 'sendTo during the move');
    b!.server.broadcast('news', { n: 3 });
    await a!.server.sendTo(first.sessionId!, 'down', { n: 3 });
    await until(() => news.length >= 3 && down.length >= 3, 10_000, 'everything');
    await new Promise((r) => setTimeout(r, 100));
    expect(news).toEqual([1, 2, 3]);
    expect(down).toEqual([1, 2, 3]);
    expect(await closedA).toMatchObject({ moved: { to: 'b' } });
    expect(client.state.sessionId).toBe(first.sessionId);
    await until(() => a!.server.presence[0]?.nodeId === 'b', 5_000, 'presence to follow');
    expect(a!.server.cluster).toMatchObject({ handoversOut: 1, remoteSends: expect.any(Number) });
    expect(b!.server.cluster).toMatchObject({ handoversIn: 1 });
    await until(
      () => b!.server.cluster!.nodes.join() === 'a,b',
      5_000,
      `nodes a,b (${b!.server.cluster!.nodes.join()})`,
    );
    await expect(a!.server.sendTo('nobody', 'down', { n: 0 })).rejects.toMatchObject({
      code: ErrorCode.SessionNotFound,
    });
  });

  it('verifies a resume token on any node: a forged one starts a new session, another user is refused', async () => {
    const [a, b] = await nodes(['a', 'b'], {
      authenticate: (token) => (token ? { id: token } : null),
    });
    const opened = await RawClient.open(a!.url, disposer, { token: 'ann' });
    const { sessionId, resumeToken } = opened.welcome.payload as {
      sessionId: string;
      resumeToken: string;
    };
    opened.client.ws.terminate();
    const forged = await RawClient.open(b!.url, disposer, {
      token: 'ann',
      resume: { sessionId, token: 'x'.repeat(32), ack: 0 },
    });
    expect(forged.welcome.payload).toMatchObject({ resumed: false });
    expect(a!.server.sessions.has(sessionId)).toBe(true); // untouched
    const other = await RawClient.connect(b!.url, disposer);
    other.send(
      envelope('$hello', { v: 1, token: 'bob', resume: { sessionId, token: resumeToken, ack: 0 } }),
    );
    expect((await other.waitClosed()).code).toBe(CloseCode.Forbidden);
    expect(a!.server.sessions.has(sessionId)).toBe(true);
  });

  it('survives a Redis restart that loses every key: nodes register again, presence and moves work', async () => {
    const [a, b] = await nodes(['a', 'b']);
    const proxy = await startSwitchProxy(a!.port);
    disposer.add(() => proxy.close());
    const client = fastClient<Api>(disposer, proxy.url);
    const first = await connected(client);
    const down: number[] = [];
    client.on('down').subscribe(({ n }) => down.push(n));
    await until(() => b!.server.presence.length === 1, 5_000, 'presence on b');
    await redis.restart(200);
    // Local traffic never stopped; cluster traffic waits for the nodes to register again.
    const [sent] = await Promise.all([
      within(
        b!.server.sendTo(first.sessionId!, 'down', { n: 1 }),
        15_000,
        'sendTo after the restart',
      ),
    ]);
    void sent;
    await until(
      () => b!.server.presence.length === 1 && a!.server.presence.length === 1,
      10_000,
      'presence again',
    );
    proxy.target(b!.port);
    proxy.cutAll();
    await until(
      () => b!.server.sessions.has(first.sessionId!),
      15_000,
      'the move after the restart',
    );
    a!.server.broadcast('down', { n: 2 });
    await until(() => down.length >= 2, 10_000, 'both');
    expect(down).toEqual([1, 2]);
    expect(client.state.sessionId).toBe(first.sessionId);
    expect(a!.server.cluster!.redisErrors + b!.server.cluster!.redisErrors).toBeGreaterThan(0);
  });

  it('takes a node-redis client of yours and leaves it open', async () => {
    const prefix = `t${++prefixes}`;
    const mine = createClient({ url: redis.url, disableOfflineQueue: true });
    mine.on('error', () => undefined);
    await mine.connect();
    disposer.add(() => mine.destroy());
    const { server } = await startServer<Api>(disposer, {
      heartbeat: false,
      cluster: redisCluster({ client: mine, secret: SECRET, prefix, nodeId: 'mine' }),
    });
    await until(() => server.cluster!.state === 'up', 10_000, 'up');
    await server.close();
    expect(mine.isOpen).toBe(true);
    expect(await mine.sendCommand(['ZRANGE', `${prefix}:nodes`, '0', '-1'])).toEqual([]); // it left
  });

  it('costs no Redis command per message; a broadcast, a sendTo and a handover cost a few', async () => {
    // No heartbeat while measuring; no rate limit for the burst.
    const [a, b] = await nodes(['a', 'b'], { rateLimit: false }, { nodeTtl: 60_000 });
    const proxy = await startSwitchProxy(a!.port);
    disposer.add(() => proxy.close());
    const client = fastClient<Api>(disposer, proxy.url);
    const first = await connected(client);
    const onA = [...a!.server.sessions.values()][0] as Session<Api>;
    const down: number[] = [];
    client.on('down').subscribe(({ n }) => down.push(n));
    const up: number[] = [];
    onA.on('up').subscribe(({ n }) => up.push(n));
    await new Promise((r) => setTimeout(r, 100)); // let the session's registration settle
    // MONITOR lists every command a client sends; commands run inside a script show as "lua".
    const monitor = await new Promise<Socket>((resolve, reject) => {
      const socket = connectTcp(redis.port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
    disposer.add(() => monitor.destroy());
    let seen: string[] = [];
    let buffered = '';
    monitor.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const lines = buffered.split('\r\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "(\w+)"/.exec(line);
        if (m && m[1] !== 'lua') seen.push(m[2]!.toLowerCase());
      }
    });
    monitor.write('MONITOR\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const count = async (): Promise<Record<string, number>> => {
      await new Promise((r) => setTimeout(r, 100)); // MONITOR lines arrive a moment later
      const calls: Record<string, number> = {};
      for (const name of seen) calls[name] = (calls[name] ?? 0) + 1;
      seen = [];
      return calls;
    };
    await count();
    for (let n = 1; n <= 200; n++) {
      client.send('up', { n });
      onA.send('down', { n });
    }
    await until(() => up.length === 200 && down.length === 200, 10_000, '200 each way');
    expect(await count()).toEqual({});
    a!.server.broadcast('news', { n: 1 });
    await until(
      () => b!.server.cluster!.broadcasts + a!.server.cluster!.broadcasts === 1,
      5_000,
      'the append',
    );
    expect(await count()).toEqual({ evalsha: 1 });
    await b!.server.sendTo(first.sessionId!, 'down', { n: 201 });
    expect(await count()).toEqual({ evalsha: 1, publish: 1 });
    proxy.target(b!.port);
    proxy.cutAll();
    await until(() => b!.server.sessions.has(first.sessionId!), 10_000, 'the move');
    await until(() => b!.server.presence[0]?.connected === true, 5_000, 'presence');
    const handover = await count();
    // The drop on a (presence: not connected), then the handover: the claim
    // (b), accepting it and the park that hands the record to b (a),
    // dropping the record's backup copy and the presence update (b).
    expect(handover).toEqual({ evalsha: 5, del: 1 });
  });

  it('refuses bad options, naming them', () => {
    const invalid = (pattern: RegExp) =>
      expect.objectContaining({
        code: ErrorCode.InvalidOption,
        message: expect.stringMatching(pattern),
      });
    expect(() => redisCluster({} as never)).toThrow(invalid(/`secret` is required/));
    expect(() => redisCluster({ secret: 'short' })).toThrow(
      invalid(/`secret` must be at least 32 bytes/),
    );
    expect(() => redisCluster({ secret: SECRET, url: 'http://x' })).toThrow(invalid(/`url`/));
    expect(() => redisCluster({ secret: SECRET, prefix: 'a b' })).toThrow(invalid(/`prefix`/));
    expect(() =>
      redisCluster({ secret: SECRET, url: 'redis://x', client: createClient() as never }),
    ).toThrow(invalid(/`url` or `client`/));
  });
});
