// Broadcast appends and takeover claims go to the store in batches: a burst
// of broadcasts is appended together (in order, each once, across an outage
// in the middle of the burst and a batch whose answer was lost), and the
// claims of sessions resuming together are decided in one script call, each
// exactly as if it ran alone (fencing epochs included).
import { createClient } from 'redis';
import type { Protocol } from '../../src/protocol/index.js';
import { silentLogger } from '../../server/logger.js';
import type { ServerSession } from '../../server/session.js';
import { redisCluster } from '../../cluster/index.js';
import { BroadcastLog } from '../../cluster/broadcast-log.js';
import { ClaimBatcher } from '../../cluster/claims.js';
import type {
  BroadcastAppend,
  ClaimResult,
  ClusterEngine,
  EngineEvents,
  SessionClaim,
} from '../../cluster/engine.js';
import { RedisEngine } from '../../cluster/redis-engine.js';
import { RedisServer, hasRedisServer } from '../helpers/redis-server.js';
import {
  Disposer,
  connected,
  startServer,
  until,
  type TestServer,
} from '../helpers/server-harness.js';
import { MemoryHub, fastClient, startNodes } from './helpers.js';

interface Feed extends Protocol {
  client: Record<string, never>;
  server: { news: { from: string; n: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** Two clients per node, each recording the broadcasts it gets. */
async function listeners(urls: readonly string[]) {
  const got: Array<Array<{ from: string; n: number }>> = [];
  for (const url of [...urls, ...urls]) {
    const client = fastClient<Feed>(disposer, url);
    await connected(client);
    const mine: Array<{ from: string; n: number }> = [];
    client.on('news').subscribe((news) => mine.push(news));
    got.push(mine);
  }
  return got;
}

/** Each origin's broadcasts 1…count, once each and in order; every client saw the same sequence. */
function expectExactlyOnceInOrder(
  got: ReadonlyArray<ReadonlyArray<{ from: string; n: number }>>,
  counts: Record<string, number>,
): void {
  for (const mine of got) {
    for (const [from, count] of Object.entries(counts)) {
      const numbers = mine.filter((news) => news.from === from).map((news) => news.n);
      expect(numbers).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    expect(mine).toEqual(got[0]);
  }
}

describe('broadcast appends in batches (in-memory cluster)', () => {
  it('a burst from two nodes at once reaches every session once, in one log order', async () => {
    const hub = new MemoryHub();
    const nodes = await startNodes<Feed>(disposer, hub, ['a', 'b']);
    const got = await listeners(nodes.map((node) => node.url));
    for (let n = 1; n <= 300; n++) {
      nodes[0]!.server.broadcast('news', { from: 'a', n });
      nodes[1]!.server.broadcast('news', { from: 'b', n });
    }
    await until(() => got.every((mine) => mine.length >= 600), 20_000, 'all 600 everywhere');
    await new Promise((resolve) => setTimeout(resolve, 50)); // nothing more may come
    expectExactlyOnceInOrder(got, { a: 300, b: 300 });
    expect(nodes[0]!.server.cluster!.broadcasts + nodes[1]!.server.cluster!.broadcasts).toBe(600);
  });

  it('an outage in the middle of a burst: the rest waits, then everything arrives once, in order', async () => {
    const hub = new MemoryHub();
    const nodes = await startNodes<Feed>(disposer, hub, ['a', 'b']);
    const got = await listeners(nodes.map((node) => node.url));
    const a = nodes[0]!.server;
    // The first broadcast goes to the store at once; the others queue behind
    // it, and the store goes down before their batch is appended.
    for (let n = 1; n <= 200; n++) a.broadcast('news', { from: 'a', n });
    hub.down();
    for (let n = 201; n <= 300; n++) a.broadcast('news', { from: 'a', n });
    await until(() => a.cluster!.state === 'down', 10_000, 'the node to see the outage');
    // Only the first broadcast reached the store (if that): the burst was cut after it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Math.max(...got.map((mine) => mine.length))).toBeLessThanOrEqual(1);
    hub.up();
    await until(() => got.every((mine) => mine.length >= 300), 20_000, 'all 300 after the outage');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expectExactlyOnceInOrder(got, { a: 300 });
    expect(a.cluster!.broadcasts).toBe(300);
  });

  it('a batch the store appended but whose answer was lost is not appended twice', async () => {
    const hub = new MemoryHub();
    const calls: number[] = [];
    const applied: string[] = [];
    let lose = true;
    const engine = {
      appendBroadcasts: async (
        origin: string,
        incarnation: string,
        entries: readonly BroadcastAppend[],
        maxLen: number,
      ) => {
        calls.push(entries.length);
        const appended = hub.appendBroadcasts(origin, incarnation, entries, maxLen);
        if (calls.length === 2 && lose) {
          lose = false;
          throw new Error('the answer was lost');
        }
        return appended;
      },
      readBroadcasts: async (after: number, count: number) => hub.readBroadcasts(after, count),
    } as unknown as ClusterEngine;
    const session = {
      id: 's1',
      state: 'open',
      sendJson: (_type: string, json: string) => applied.push(json) > 0,
    } as unknown as ServerSession<never, unknown>;
    const failures: string[] = [];
    let appended = 0;
    const log = new BroadcastLog({
      engine,
      nodeId: 'a',
      incarnation: 'i1',
      history: 10_000,
      logger: silentLogger,
      localSessions: () => [session],
      failed: (what) => failures.push(what),
      appended: () => appended++,
    });
    hub.attach('a', {
      broadcast: (message) => log.receive(message),
      direct: () => undefined,
      presence: () => undefined,
      state: () => undefined,
    } satisfies EngineEvents);
    disposer.add(() => hub.detach('a'));
    await log.init();
    for (let n = 1; n <= 100; n++) log.broadcast('news', String(n), null);
    await until(() => failures.length === 1, 5_000, 'the lost answer');
    // 100 broadcasts waited; the second batch is in the store, its answer lost.
    expect(calls).toEqual([1, 99]);
    expect(log.waiting).toBe(99);
    // The next broadcast sends the 99 again with itself: the store skips the 99.
    for (let n = 101; n <= 110; n++) log.broadcast('news', String(n), null);
    await until(() => log.waiting === 0, 5_000, 'the retry');
    expect(calls).toEqual([1, 99, 100, 9]);
    await until(() => applied.length >= 110, 5_000, 'every broadcast applied');
    await new Promise((resolve) => setImmediate(resolve));
    expect(applied).toEqual(Array.from({ length: 110 }, (_, i) => String(i + 1)));
    expect(hub.readBroadcasts(0, 1_000).entries).toHaveLength(110);
    expect(appended).toBe(110);
  });
});

describe('ClaimBatcher', () => {
  it('sends the claims of one turn together, the next ones after its answer, and fails a batch as a whole', async () => {
    const batches: string[][] = [];
    const answers: Array<() => void> = [];
    let fail = false;
    const engine = {
      claim: (_node: string, claims: readonly SessionClaim[]) => {
        batches.push(claims.map((claim) => claim.sid));
        return new Promise<ClaimResult[]>((resolve, reject) => {
          answers.push(() =>
            fail
              ? reject(new Error('store down'))
              : resolve(claims.map(() => ({ kind: 'unknown', settling: false }))),
          );
        });
      },
    } as unknown as ClusterEngine;
    const claims = new ClaimBatcher(engine, 'a');
    const first = ['s1', 's2', 's3'].map((sid) => claims.claim(sid, 'u:ann'));
    await until(() => batches.length === 1, 5_000, 'the first batch');
    const second = ['s4', 's5'].map((sid) => claims.claim(sid, 'u:ann'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([['s1', 's2', 's3']]); // one in flight at a time
    answers.shift()!();
    expect(await Promise.all(first)).toEqual(Array(3).fill({ kind: 'unknown', settling: false }));
    await until(() => batches.length === 2, 5_000, 'the second batch');
    expect(batches[1]).toEqual(['s4', 's5']);
    fail = true;
    answers.shift()!();
    for (const claim of second) await expect(claim).rejects.toThrow('store down');
  });
});

const describeRedis = hasRedisServer() ? describe : describe.skip;

describeRedis('batches on Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  const SECRET = 'a cluster secret that is long enough to be safe';

  async function scriptCalls(): Promise<number> {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const info = await client.sendCommand(['INFO', 'commandstats']);
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(String(info))?.[1] ?? 0);
      return calls('evalsha') + calls('eval');
    } finally {
      client.destroy();
    }
  }

  it('500 broadcasts made in one turn are appended in a few script calls, each once, in order', async () => {
    const nodes: Array<TestServer<Feed, unknown>> = [];
    for (const nodeId of ['a', 'b']) {
      nodes.push(
        await startServer<Feed>(disposer, {
          heartbeat: false,
          cluster: redisCluster({
            url: redis.url,
            secret: SECRET,
            prefix: 'burst',
            nodeId,
            nodeTtl: 60_000, // no heartbeat while counting
          }),
        }),
      );
    }
    await until(() => nodes.every((n) => n.server.cluster!.state === 'up'), 10_000, 'up');
    const got = await listeners(nodes.map((node) => node.url));
    await until(() => nodes[0]!.server.presence.length === 4, 5_000, 'presence');
    const before = await scriptCalls();
    for (let n = 1; n <= 500; n++) nodes[0]!.server.broadcast('news', { from: 'a', n });
    await until(() => got.every((mine) => mine.length >= 500), 20_000, 'all 500 everywhere');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expectExactlyOnceInOrder(got, { a: 500 });
    // One call for the first broadcast, then batches of what waited (1 + 256 + 243);
    // INFO's own call and stray registrations leave room for a few more.
    expect((await scriptCalls()) - before).toBeLessThanOrEqual(8);
  });

  it('claims sessions together, each decided as alone: taken, asked, unknown, forbidden, and a superseded epoch is stale', async () => {
    const prefix = 'claims';
    const engines: RedisEngine[] = [];
    const directs: Record<string, string[]> = { a: [], b: [], c: [] };
    for (const nodeId of ['a', 'b', 'c']) {
      const engine = new RedisEngine({ url: redis.url }, prefix, silentLogger);
      await engine.start(nodeId, {
        direct: (message) => directs[nodeId]!.push(message),
        presence: () => undefined,
        broadcast: () => undefined,
        state: () => undefined,
      });
      await engine.heartbeat(nodeId, 60_000, 1_000, false);
      disposer.add(() => engine.stop());
      engines.push(engine);
    }
    const [a, b, c] = engines as [RedisEngine, RedisEngine, RedisEngine];
    const entry = 'a|1|{"u":"ann"}';
    const open = (sid: string) => ({ op: 'open' as const, sid, userKey: 'u:ann', entry });
    expect(
      await a.sessions('a', [open('parked1'), open('parked2'), open('live'), open('expired')]),
    ).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await a.park('a', 'parked1', '{"id":"parked1"}', 60_000)).toEqual({ kind: 'parked' });
    expect(await a.park('a', 'parked2', '{"id":"parked2"}', 60_000)).toEqual({ kind: 'parked' });
    expect(await a.park('a', 'expired', '{"id":"expired"}', 1)).toEqual({ kind: 'parked' });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const results = await b.claim('b', [
      { sid: 'parked1', userKey: 'u:ann' },
      { sid: 'live', userKey: 'u:ann' },
      { sid: 'expired', userKey: 'u:ann' },
      { sid: 'parked2', userKey: 'u:bob' },
      { sid: 'nobody', userKey: 'u:ann' },
      { sid: 'parked2', userKey: 'u:ann' },
    ]);
    expect(results).toEqual([
      // Parked at epoch 2 by the park, claimed at 3.
      { kind: 'taken', epoch: 3, record: '{"id":"parked1"}', inbox: [] },
      { kind: 'asked', epoch: 2, owner: 'a' },
      { kind: 'unknown', settling: false },
      { kind: 'forbidden' },
      { kind: 'unknown', settling: false },
      { kind: 'taken', epoch: 3, record: '{"id":"parked2"}', inbox: [] },
    ]);
    await until(() => directs.a!.length === 1, 5_000, 'the takeover request');
    expect(JSON.parse(directs.a![0]!)).toEqual({ op: 'takeover', sid: 'live', to: 'b', epoch: 2 });

    // Another claim of `live` supersedes b's: its epoch is stale now.
    expect(await c.claim('c', [{ sid: 'live', userKey: 'u:ann' }])).toEqual([
      { kind: 'asked', epoch: 3, owner: 'a' },
    ]);
    expect(await a.accept('a', 'live', 2)).toBe(false);
    expect(await b.cancel('b', 'live', 2)).toBe('gone');
    expect(await a.accept('a', 'live', 3)).toBe(true);
    expect(await a.park('a', 'live', '{"id":"live"}', 60_000)).toEqual({
      kind: 'handed',
      to: 'c',
    });
    // What b took is b's now: claiming it again finds it taken already (no record left).
    expect(await b.claim('b', [{ sid: 'parked1', userKey: 'u:ann' }])).toEqual([{ kind: 'busy' }]);
  });
});
