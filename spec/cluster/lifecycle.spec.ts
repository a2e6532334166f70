// Request streams caught by a move, drain, store outages (an outage, a
// restart that loses everything) and a node that dies, on an in-memory cluster.
import { firstValueFrom, filter, interval, map, NEVER, take, timer } from 'rxjs';
import { CloseCode, ErrorCode, type Protocol } from '../../src/protocol/index.js';
import type { Session } from '../../server/index.js';
import {
  Disposer,
  RawClient,
  connected,
  startServer,
  until,
  within,
} from '../helpers/server-harness.js';
import { startSwitchProxy } from '../helpers/switch-proxy.js';
import { MemoryHub, fastClient, startNodes } from './helpers.js';

interface Api extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number } };
  requests: {
    ticks: { request: { every: number; count?: number }; response: number };
  };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

async function twoNodes(options: Parameters<typeof startNodes<Api>>[3] = {}) {
  const hub = new MemoryHub();
  const nodes = await startNodes<Api>(disposer, hub, ['a', 'b'], options);
  for (const node of nodes) {
    node.server.handle('ticks', ({ every, count }) =>
      count === undefined ? interval(every) : interval(every).pipe(take(count)),
    );
  }
  const proxy = await startSwitchProxy(nodes[0]!.port);
  disposer.add(() => proxy.close());
  return { hub, a: nodes[0]!, b: nodes[1]!, proxy };
}

it('ends a request stream running on the old node with RXWIRE_SESSION_MOVED, once, after the resume', async () => {
  const { b, proxy } = await twoNodes();
  const client = fastClient<Api>(disposer, proxy.url);
  await connected(client);
  const values: number[] = [];
  const ended = new Promise<unknown>((resolve) =>
    client.request('ticks', { every: 20 }).subscribe({
      next: (v) => values.push(v),
      error: resolve,
      complete: () => resolve('completed'),
    }),
  );
  await until(() => values.length >= 3, 5_000, 'a few values');
  proxy.target(b.port);
  proxy.cutAll();
  const error = await within(ended, 10_000, 'the request to end');
  expect(error).toMatchObject({ code: ErrorCode.SessionMoved });
  expect(values).toEqual(values.map((_, i) => i)); // each value once, in order
  // The session lives on at b: a new request runs there.
  const again = await within(
    firstValueFrom(client.request('ticks', { every: 1, count: 2 }).pipe(take(2), map(String))),
    5_000,
    'a request on b',
  );
  expect(again).toBe('0');
});

it('drain hands every session to the cluster: clients resume on another node, nothing lost', async () => {
  const { a, b, proxy } = await twoNodes();
  const client = fastClient<Api>(disposer, proxy.url);
  const first = await connected(client);
  const onA = [...a.server.sessions.values()][0] as Session<Api>;
  const got: number[] = [];
  client.on('down').subscribe(({ n }) => got.push(n));
  // A request that finishes within the drain's grace period is not cut.
  const finished = firstValueFrom(
    client.request('ticks', { every: 30, count: 3 }).pipe(
      take(3),
      map(() => 1),
    ),
  );
  proxy.target(b.port);
  for (let n = 1; n <= 5; n++) onA.send('down', { n });
  const closed = firstValueFrom(onA.closed$);
  const drained = a.server.drain({ requestTimeout: 2_000 });
  await expect(within(drained, 10_000, 'drain')).resolves.toBeUndefined();
  expect(await closed).toEqual({
    code: CloseCode.ServiceRestart,
    reason: 'server restarting',
    moved: { to: null },
  });
  // While it waits (parked), sends still reach it.
  const sent = b.server.sendTo(first.sessionId!, 'down', { n: 6 });
  await within(sent, 5_000, 'sendTo to a parked session');
  await within(finished, 5_000, 'the short request');
  await until(() => got.length >= 6, 10_000, '6 messages');
  expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  expect(client.state.sessionId).toBe(first.sessionId);
  expect(b.server.sessions.has(first.sessionId!)).toBe(true);
  // New connections to the drained node are refused with 503 (the client's next attempt goes elsewhere).
  const refused = await RawClient.connect(a.url, disposer).catch((error: unknown) => error);
  expect(refused).toMatchObject({ status: 503 });
});

it('keeps local sessions working through an outage; cluster work waits and completes after it', async () => {
  const { hub, a, b, proxy } = await twoNodes();
  const client = fastClient<Api>(disposer, proxy.url);
  const first = await connected(client);
  const onA = [...a.server.sessions.values()][0] as Session<Api>;
  const up: number[] = [];
  onA.on('up').subscribe(({ n }) => up.push(n));
  const got: number[] = [];
  client.on('down').subscribe(({ n }) => got.push(n));
  hub.down();
  await until(
    () => a.server.cluster!.state === 'down' || a.server.cluster!.redisErrors > 0,
    5_000,
    'a to notice',
  );
  client.send('up', { n: 1 });
  onA.send('down', { n: 1 });
  await until(() => up.length === 1 && got.length === 1, 5_000, 'local traffic');
  const remote = b.server.sendTo(first.sessionId!, 'down', { n: 2 }); // waits for the store
  a.server.broadcast('down', { n: 3 }); // waits too
  // A resume on the other node cannot be decided now: the client is told to come back.
  const closes: number[] = [];
  client.state$.subscribe((s) => s.lastClose && closes.push(s.lastClose.code));
  proxy.target(b.port);
  proxy.cutAll();
  await until(() => closes.includes(CloseCode.TryAgainLater), 5_000, 'a 1013');
  hub.up();
  await within(remote, 10_000, 'the sendTo');
  await until(() => got.length >= 3, 10_000, 'what waited');
  expect([...got].sort()).toEqual([1, 2, 3]); // the sendTo and the broadcast took separate paths
  expect(client.state.sessionId).toBe(first.sessionId);
  expect(a.server.cluster!.redisErrors).toBeGreaterThan(0);
});

it('recovers from a store restart that lost everything: sessions are registered again and still move', async () => {
  const { hub, a, b, proxy } = await twoNodes();
  const client = fastClient<Api>(disposer, proxy.url);
  const first = await connected(client);
  await until(() => b.server.presence.length === 1, 5_000, 'presence on b');
  hub.restart();
  // Right after it, the store is empty: a sendTo waits for the session's node to register it again.
  const got: number[] = [];
  client.on('down').subscribe(({ n }) => got.push(n));
  await within(
    b.server.sendTo(first.sessionId!, 'down', { n: 1 }),
    5_000,
    'sendTo after the restart',
  );
  proxy.target(b.port);
  proxy.cutAll();
  await until(() => b.server.sessions.has(first.sessionId!), 10_000, 'the move to b');
  a.server.broadcast('down', { n: 2 });
  await until(() => got.length >= 2, 5_000, 'both');
  expect(got).toEqual([1, 2]);
  expect(client.state.sessionId).toBe(first.sessionId);
});

it('a node that dies loses its sessions: their clients start over elsewhere, presence forgets them within the TTL', async () => {
  const { hub, a, b, proxy } = await twoNodes({
    cluster: { nodeTtl: 300, handoverTimeout: 200 },
  });
  const client = fastClient<Api>(disposer, proxy.url);
  const first = await connected(client);
  await until(() => b.server.presence.length === 1, 5_000, 'presence on b');
  const crashedAt = Date.now();
  hub.crash('a');
  await until(() => b.server.presence.length === 0, 2_000, 'presence to drop the dead node');
  expect(Date.now() - crashedAt).toBeLessThan(300 * 2 + 200);
  proxy.target(b.port);
  proxy.cutAll();
  const next = await within(
    firstValueFrom(client.sessions$.pipe(filter((s) => s.sessionId !== first.sessionId))),
    10_000,
    'a new session',
  );
  expect(next).toMatchObject({ resumed: false, previousSessionId: first.sessionId });
  await until(() => b.server.presence.length === 1, 5_000, 'the new session in presence');
  // a's process lives on in this test, cut off from the hub: its drain cannot reach the store.
  await expect(a.server.drain({ timeout: 100 })).rejects.toMatchObject({
    code: ErrorCode.ClusterUnavailable,
  });
});

it('without a cluster: sendTo and presence are local, drain closes sessions with 1012', async () => {
  const { server, url } = await startServer<Api>(disposer, { heartbeat: false });
  expect(server.cluster).toBeNull();
  expect(server.nodeId).toMatch(/^node-/);
  const client = fastClient<Api>(disposer, url, { reconnect: false });
  const state = await connected(client);
  expect(server.presence).toEqual([
    {
      sessionId: state.sessionId,
      userKey: expect.any(String),
      nodeId: server.nodeId,
      connected: true,
    },
  ]);
  const got = firstValueFrom(client.on('down'));
  await server.sendTo(state.sessionId!, 'down', { n: 1 });
  expect(await got).toEqual({ n: 1 });
  await expect(server.sendTo('nope', 'down', { n: 2 })).rejects.toMatchObject({
    code: ErrorCode.SessionNotFound,
  });
  const closes = firstValueFrom(client.state$.pipe(filter((s) => s.lastClose !== undefined)));
  await within(server.drain(), 5_000, 'drain');
  expect((await closes).lastClose).toMatchObject({ code: CloseCode.ServiceRestart });
  expect(server.presence).toEqual([]);
  void NEVER;
  void timer;
});

it('without a cluster, presence$ follows this server’s sessions, and costs nothing until read', async () => {
  const { server, url } = await startServer<Api>(disposer, { heartbeat: false });
  const client = fastClient<Api>(disposer, url, { reconnect: false });
  await connected(client); // opened before anyone asked for presence
  const seen: number[] = [];
  server.presence$.subscribe((all) => seen.push(all.filter((p) => p.connected).length));
  expect(seen).toEqual([1]);
  const second = fastClient<Api>(disposer, url, { reconnect: false });
  await connected(second);
  await until(() => seen.at(-1) === 2, 5_000, 'presence to count two');
  second.disconnect();
  await until(() => seen.at(-1) === 1, 5_000, 'presence to count one again');
});

it('a user JSON cannot encode: the session works where it is, and ends (1011) instead of moving', async () => {
  const { a, b, proxy } = await twoNodes({
    authenticate: () => ({ big: 1n }),
    userKey: () => undefined, // keyed by the user's JSON, which throws for a BigInt
    cluster: { handoverTimeout: 300 }, // the claimant gives up soon: nothing will come
  });
  const client = fastClient<Api>(disposer, proxy.url);
  const first = await connected(client);
  const onA = [...a.server.sessions.values()][0] as Session<Api>;
  const closed = firstValueFrom(onA.closed$);
  const down = firstValueFrom(client.on('down'));
  await within(b.server.sendTo(first.sessionId!, 'down', { n: 1 }), 5_000, 'a remote sendTo');
  expect(await within(down, 5_000, 'the message')).toEqual({ n: 1 });
  proxy.target(b.port);
  proxy.cutAll();
  expect(await within(closed, 10_000, 'the session to end')).toMatchObject({ code: 1011 });
});
