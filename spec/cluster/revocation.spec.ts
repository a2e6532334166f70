// server.disconnectUser on a cluster (issue 19, item 2): one call on any node
// ends the user's sessions on every node, and a session of that user that was
// between nodes at that moment (parked by a drain) is not resumed either.
import { filter, firstValueFrom } from 'rxjs';
import type { Protocol } from '../../src/protocol/index.js';
import { Disposer, connected, until, within } from '../helpers/server-harness.js';
import { startSwitchProxy } from '../helpers/switch-proxy.js';
import { MemoryHub, fastClient, startNodes } from './helpers.js';

interface Api extends Protocol {
  client: { up: number };
  server: { down: number };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** Everyone authenticates with their name as the token; the user is `{ id: name }`. */
const authenticate = (token: string | undefined) => (token ? { id: token } : null);

async function cluster(ids: string[]) {
  const hub = new MemoryHub();
  return startNodes<Api>(disposer, hub, ids, { authenticate });
}

it('ends the user’s sessions on every node, and only that user’s', async () => {
  const [a, b] = await cluster(['a', 'b']);
  const adaOnA = fastClient<Api>(disposer, a!.url, { token: 'ada' });
  const adaOnB = fastClient<Api>(disposer, b!.url, { token: 'ada' });
  const bobOnB = fastClient<Api>(disposer, b!.url, { token: 'bob' });
  await Promise.all([connected(adaOnA), connected(adaOnB), connected(bobOnB)]);
  await until(() => a!.server.presence.length === 3, 5_000, 'cluster-wide presence');

  const ended = await a!.server.disconnectUser('ada');
  expect(ended).toBe(1); // the one on this node; b ends its own

  await until(
    () => adaOnA.state.status === 'error' && adaOnB.state.status === 'error',
    10_000,
    'both of ada’s clients to stop',
  );
  expect(adaOnB.state.lastClose).toMatchObject({ code: 4403, reason: 'session revoked' });
  expect([...b!.server.sessions.values()].map((s) => s.user)).toEqual([{ id: 'bob' }]);
  expect(bobOnB.state.status).toBe('connected');
  await until(() => a!.server.presence.length === 1, 5_000, 'presence without ada');
});

it('a session parked by a drain when its user is revoked is not resumed on another node', async () => {
  const [a, b] = await cluster(['a', 'b']);
  const proxy = await startSwitchProxy(a!.port);
  disposer.add(() => proxy.close());
  const ada = fastClient<Api>(disposer, proxy.url, { token: 'ada' });
  const first = await connected(ada);
  // While a drains, the proxy points at a port nothing listens on: the session
  // is parked in the cluster, between nodes, until the client reaches b.
  proxy.target(1);
  await a!.server.drain();
  const revoked = await b!.server.disconnectUser('ada');
  expect(revoked).toBe(0); // no node holds it: it is parked
  const next = firstValueFrom(ada.sessions$.pipe(filter((s) => s.sessionId !== first.sessionId)));
  proxy.target(b!.port);
  // It got a new session instead of the revoked one.
  expect(await within(next, 10_000, 'the client to come back')).toMatchObject({
    resumed: false,
    previousSessionId: first.sessionId,
  });
  expect([...b!.server.sessions.keys()]).toEqual([ada.state.sessionId]);
});
