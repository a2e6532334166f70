// The cluster as it runs in production: 3 node processes on one Redis behind
// a round-robin TCP proxy with no stickiness that cuts every connection every
// few hundred ms, so clients land on a different node again and again. Two
// nodes are drained and restarted mid-run. 5 clients each send 500 messages,
// a fourth node with no clients sends each of them 500 with sendTo, and 100
// broadcasts go out: every message must arrive exactly once and in order,
// every client must keep its one session for the whole run, and sessions
// must have been served by several nodes. Then the same with Redis restarted
// (empty) once mid-run; and a node killed with SIGKILL.
import { WebSocket } from 'ws';
import { createClient, type Client, type WebSocketConstructor } from '../../src/index.js';
import { RedisServer, hasRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/server-harness.js';
import {
  NodeProcess,
  ProxyProcess,
  nodePorts,
  removeBundle,
  type ClusterEnv,
  type ClusterProtocol,
} from './processes.js';

const describeRedis = hasRedisServer() ? describe : describe.skip;
jest.setTimeout(120_000);

const CLIENTS = 5;
const MESSAGES = 500;
const BROADCASTS = 100;
let redis: RedisServer;
let prefixes = 0;
const cleanups: Array<() => Promise<unknown>> = [];
/** Set when a test ends: its loops stop, and no node starts after its cleanup. */
let ended = false;

beforeAll(async () => {
  if (hasRedisServer()) redis = await RedisServer.start();
});
beforeEach(() => {
  ended = false;
});
afterEach(async () => {
  ended = true;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await redis?.stop();
  removeBundle();
});

function env(nodeTtl = 3_000): ClusterEnv {
  return {
    redisUrl: redis.url,
    prefix: `mp${++prefixes}`,
    secret: 'the secret every node of this cluster shares',
    nodeTtl,
  };
}

async function startNode(cluster: ClusterEnv, nodeId: string, port: number): Promise<NodeProcess> {
  if (ended) throw new Error('the test ended');
  const node = await NodeProcess.start(cluster, nodeId, port);
  cleanups.push(() => node.stop());
  if (ended) await node.stop();
  return node;
}

interface Tracked {
  client: Client<ClusterProtocol>;
  sessionIds: Set<string>;
  welcomes: Array<{ sessionId: string; resumed: boolean }>;
  acks: number[];
  downs: number[];
  news: number[];
}

function track(url: string): Tracked {
  const client = createClient<ClusterProtocol>({
    url,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelay: 20, maxDelay: 300, maxAttempts: 100_000 },
    heartbeat: false,
    queue: { limit: 5_000, overflow: 'error' },
  });
  cleanups.push(async () => client.dispose());
  const tracked: Tracked = {
    client,
    sessionIds: new Set(),
    welcomes: [],
    acks: [],
    downs: [],
    news: [],
  };
  client.sessions$.subscribe((s) => {
    tracked.sessionIds.add(s.sessionId);
    tracked.welcomes.push({ sessionId: s.sessionId, resumed: s.resumed });
  });
  client.on('ack_up').subscribe(({ n }) => tracked.acks.push(n));
  client.on('down').subscribe(({ n }) => tracked.downs.push(n));
  client.on('news').subscribe(({ n }) => tracked.news.push(n));
  return tracked;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(options: { restartRedis: boolean }): Promise<void> {
  const cluster = env();
  const ports = await nodePorts(3);
  const [sender] = await nodePorts(1);
  const nodes = await Promise.all(ports.map((port, i) => startNode(cluster, `n${i}`, port)));
  const all: NodeProcess[] = [...nodes];
  const d = await startNode(cluster, 'sender', sender!); // the fourth node: no clients
  all.push(d);
  const proxy = await ProxyProcess.start(ports, 400);
  cleanups.push(() => proxy.stop());
  const clients = range(CLIENTS).map(() => track(proxy.url));
  await until(
    () => clients.every((c) => c.sessionIds.size === 1),
    20_000,
    'every client to connect',
  );
  const started = Date.now();

  // Clients send 500 each, paced; the sender node sends 500 to each with sendTo; 100 broadcasts.
  const ups = clients.map(async ({ client }) => {
    for (let n = 1; n <= MESSAGES && !ended; n++) {
      client.send('up', { n });
      await sleep(12);
    }
  });
  const downs = clients.map(async (c) => {
    const sessionId = [...c.sessionIds][0]!;
    for (let n = 1; n <= MESSAGES && !ended; n++) {
      await d.sendTo(sessionId, n);
      await sleep(8);
    }
  });
  const broadcasts = (async () => {
    for (let n = 1; n <= BROADCASTS && !ended; n++) {
      await d.broadcast(n);
      await sleep(60);
    }
  })();
  // Rolling deploy: drain a node and start a new process in its place, twice.
  const deploys = (async () => {
    for (const [slot, at] of [
      [0, 1_500],
      [1, 4_500],
    ] as const) {
      await sleep(Math.max(0, started + at - Date.now()));
      await nodes[slot]!.drain();
      nodes[slot] = await startNode(cluster, `n${slot}-v2`, ports[slot]!);
      all.push(nodes[slot]!);
    }
  })();
  const outage = (async () => {
    if (!options.restartRedis) return;
    await sleep(Math.max(0, started + 3_000 - Date.now()));
    await redis.restart(300); // empty: every key is gone
  })();

  const progress = (): string =>
    clients
      .map((c) =>
        JSON.stringify({
          status: c.client.state.status,
          sessions: c.sessionIds.size,
          acks: c.acks.length,
          downs: c.downs.length,
          news: c.news.length,
          queued: c.client.state.queued,
          unacked: c.client.state.unacked,
          close: c.client.state.lastClose,
          error: c.client.state.error?.message,
        }),
      )
      .join('\n');
  await Promise.all([...ups, ...downs, broadcasts, deploys, outage]).catch((error: Error) => {
    throw new Error(`${error.message}\n${progress()}`);
  });
  await until(
    () =>
      clients.every(
        (c) =>
          c.acks.length >= MESSAGES && c.downs.length >= MESSAGES && c.news.length >= BROADCASTS,
      ),
    30_000,
    'every message to arrive',
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${progress()}`);
  });
  await sleep(300); // anything extra (a repeat) would show up by now

  for (const c of clients) {
    expect(c.acks).toEqual(range(MESSAGES));
    expect(c.downs).toEqual(range(MESSAGES));
    expect(c.news).toEqual(range(BROADCASTS));
    expect(c.sessionIds.size).toBe(1);
    expect(c.welcomes.slice(1).every((w) => w.resumed)).toBe(true);
  }
  // Where each session was served: it moved between nodes again and again.
  const servedBy = new Map<string, Set<string>>();
  for (const node of all) {
    for (const { sessionId, nodeId } of node.sessions) {
      if (!servedBy.has(sessionId)) servedBy.set(sessionId, new Set());
      servedBy.get(sessionId)!.add(nodeId);
    }
  }
  for (const c of clients)
    expect(servedBy.get([...c.sessionIds][0]!)!.size).toBeGreaterThanOrEqual(2);
  const moves = clients.reduce((sum, c) => sum + c.welcomes.length - 1, 0);
  process.stdout.write(
    `multi-process (${options.restartRedis ? 'with a Redis restart' : 'drains only'}): ` +
      `${Date.now() - started} ms, ${moves} resumes, nodes per session ${[...servedBy.values()].map((s) => s.size).join(' ')}\n`,
  );
}

describeRedis('a cluster of processes behind a round-robin proxy that cuts connections', () => {
  it('delivers everything exactly once and in order across moves, cuts and two rolling restarts', async () => {
    await run({ restartRedis: false });
  });

  it('does the same with Redis restarted (empty) once mid-run: messages may wait, none is lost', async () => {
    await run({ restartRedis: true });
  });

  it('kill -9 of a node: its clients get new sessions elsewhere, presence drops them within the TTL', async () => {
    const cluster = env(1_500);
    const ports = await nodePorts(3);
    const nodes = await Promise.all(ports.map((port, i) => startNode(cluster, `k${i}`, port)));
    const proxy = await ProxyProcess.start(ports);
    cleanups.push(() => proxy.stop());
    const clients = range(6).map(() => track(proxy.url));
    await until(
      () => clients.every((c) => c.sessionIds.size === 1),
      20_000,
      'every client to connect',
    );
    const victim = nodes[0]!;
    const onVictim = new Set(victim.sessions.map((s) => s.sessionId));
    expect(onVictim.size).toBeGreaterThan(0);
    for (let i = 0; (await nodes[1]!.presence()).length < 6; i++) {
      if (i > 200) throw new Error('presence never showed all 6 sessions');
      await sleep(50);
    }
    const killedAt = Date.now();
    await victim.kill();
    // Presence forgets the dead node's sessions within about nodeTtl * 4/3.
    let dropped = 0;
    for (;;) {
      const presence = await nodes[1]!.presence();
      if (!presence.some((p) => onVictim.has(p.sessionId))) break;
      if (Date.now() - killedAt > 10_000) throw new Error('presence kept the dead node');
      await sleep(50);
    }
    dropped = Date.now() - killedAt;
    expect(dropped).toBeLessThan(1_500 * 2 + 1_000);
    // Its clients start over on the other nodes (resumed: false); the others keep their sessions.
    await until(
      () =>
        clients.every(
          (c) => !onVictim.has([...c.sessionIds].at(-1)!) && c.client.state.status === 'connected',
        ),
      20_000,
      "the dead node's clients to get new sessions",
    );
    for (const c of clients) {
      const first = [...c.sessionIds][0]!;
      if (onVictim.has(first)) {
        expect(c.sessionIds.size).toBe(2);
        expect(c.welcomes.at(-1)).toMatchObject({ resumed: false });
      } else {
        expect(c.sessionIds.size).toBe(1);
      }
    }
    process.stdout.write(
      `kill -9: presence dropped the dead node's sessions after ${dropped} ms\n`,
    );
  });
});
