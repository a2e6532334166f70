// Broadcasts and sendTo across the nodes of an in-memory cluster, with real
// clients that move between nodes (a proxy whose target changes, and cuts).
import { firstValueFrom, filter } from 'rxjs';
import { ErrorCode, type Protocol } from '../../src/protocol/index.js';
import type { Session } from '../../server/index.js';
import { Disposer, connected, until, within } from '../helpers/server-harness.js';
import { startSwitchProxy } from '../helpers/switch-proxy.js';
import { MemoryHub, fastClient, startNodes } from './helpers.js';

interface Feed extends Protocol {
  client: { up: { n: number } };
  server: { news: { n: number }; direct: { n: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

async function cluster(ids = ['a', 'b', 'c']) {
  const hub = new MemoryHub();
  const nodes = await startNodes<Feed, { id: string; room?: string }>(disposer, hub, ids, {
    authenticate: (token) => ({ id: token ?? 'anon', room: token?.startsWith('r1') ? 'r1' : 'r2' }),
  });
  return { hub, nodes };
}

it('broadcast reaches every session on every node once, in order, from any node', async () => {
  const { nodes } = await cluster();
  const clients = await Promise.all(
    nodes.map(async (node, i) => {
      const client = fastClient<Feed>(disposer, node.url, { token: `user${i}` });
      await connected(client);
      return client;
    }),
  );
  const got = clients.map(() => [] as number[]);
  clients.forEach((client, i) => client.on('news').subscribe(({ n }) => got[i]!.push(n)));
  for (let n = 1; n <= 30; n++) nodes[n % 3]!.server.broadcast('news', { n });
  await until(() => got.every((g) => g.length >= 30), 10_000, 'every broadcast everywhere');
  const expected = Array.from({ length: 30 }, (_, i) => i + 1);
  // One log, one order: every session sees the same sequence (the log's, not the calls').
  for (const g of got) expect([...g].sort((x, y) => x - y)).toEqual(expected);
  expect(got[1]).toEqual(got[0]);
  expect(got[2]).toEqual(got[0]);
  const broadcasts = nodes.map((n) => n.server.cluster!.broadcasts);
  expect(broadcasts.reduce((x, y) => x + y)).toBe(30);
});

it('a filtered broadcast is decided on the origin, over local and remote sessions', async () => {
  const { nodes } = await cluster(['a', 'b']);
  const c1 = fastClient<Feed>(disposer, nodes[0]!.url, { token: 'r1-ann' });
  const c2 = fastClient<Feed>(disposer, nodes[1]!.url, { token: 'r1-bob' });
  const c3 = fastClient<Feed>(disposer, nodes[1]!.url, { token: 'r2-cat' });
  await Promise.all([connected(c1), connected(c2), connected(c3)]);
  await until(() => nodes[0]!.server.presence.length === 3, 5_000, 'presence on a');
  const seen: string[] = [];
  const count = nodes[0]!.server.broadcast('news', { n: 1 }, (s) => {
    seen.push(`${s.remote ? 'remote' : 'local'}:${(s.user as { id: string }).id}`);
    return (s.user as { room: string }).room === 'r1';
  });
  expect(count).toBe(2);
  expect(seen.sort()).toEqual(['local:r1-ann', 'remote:r1-bob', 'remote:r2-cat']);
  const news = (client: typeof c1) => firstValueFrom(client.on('news'));
  await within(Promise.all([news(c1), news(c2)]), 5_000, 'the room to get it');
  nodes[1]!.server.broadcast('news', { n: 2 });
  const next = await within(news(c3), 5_000, 'the next broadcast');
  expect(next).toEqual({ n: 2 }); // c3 never got n: 1
});

it('sendTo reaches a session on another node, in order, also while it moves; unknown ids reject', async () => {
  const { nodes } = await cluster();
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const proxy = await startSwitchProxy(a.port);
  disposer.add(() => proxy.close());
  const client = fastClient<Feed>(disposer, proxy.url, { token: 'mover' });
  const state = await connected(client);
  const got: number[] = [];
  client.on('direct').subscribe(({ n }) => got.push(n));
  const sends: Array<Promise<void>> = [];
  for (let n = 1; n <= 300; n++) {
    sends.push(c.server.sendTo(state.sessionId!, 'direct', { n }));
    if (n === 100) {
      proxy.target(b.port);
      proxy.cutAll();
    }
    if (n === 200) {
      proxy.target(c.port); // now it lands where the sends come from
      proxy.cutAll();
    }
    if (n % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await within(Promise.all(sends), 20_000, 'every sendTo to resolve');
  await until(() => got.length >= 300, 20_000, '300 messages');
  expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  expect(client.state.sessionId).toBe(state.sessionId);
  await expect(c.server.sendTo('no-such-session', 'direct', { n: 0 })).rejects.toMatchObject({
    code: ErrorCode.SessionNotFound,
  });
  expect(c.server.cluster!.remoteSends).toBeGreaterThan(0);
});

it('a broadcast reaches a session that was moving when it was made, once', async () => {
  const { nodes } = await cluster(['a', 'b']);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const proxy = await startSwitchProxy(a.port);
  disposer.add(() => proxy.close());
  const client = fastClient<Feed>(disposer, proxy.url, {
    token: 'mover',
    reconnect: { initialDelay: 300, maxDelay: 300, jitter: 0, maxAttempts: 100 },
  });
  const first = await connected(client);
  const got: number[] = [];
  client.on('news').subscribe(({ n }) => got.push(n));
  const movedIn = firstValueFrom(
    b.server.sessions$.pipe(filter((s: Session<Feed>) => s.movedFrom === 'a')),
  );
  proxy.target(b.port);
  proxy.cutAll(); // the client waits 300 ms before resuming on b
  await new Promise((r) => setTimeout(r, 50));
  for (let n = 1; n <= 5; n++) a.server.broadcast('news', { n }); // applied on a: waits in the session
  await within(movedIn, 5_000, 'the session to move in');
  for (let n = 6; n <= 10; n++) b.server.broadcast('news', { n });
  await until(() => got.length >= 10, 5_000, '10 broadcasts');
  await new Promise((r) => setTimeout(r, 100));
  expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(client.state.sessionId).toBe(first.sessionId);
});
