// Sessions moving between nodes of an in-memory cluster, driven frame by
// frame with a raw client: the claim, the handover, what each side sees.
import { firstValueFrom, take, toArray } from 'rxjs';
import type { Protocol } from '../../src/protocol/index.js';
import type { Session, SessionClose } from '../../server/index.js';
import { memoryCluster } from '../../cluster/index.js';
import {
  Disposer,
  RawClient,
  envelope,
  startServer,
  until,
  within,
} from '../helpers/server-harness.js';
import { MemoryHub, startNodes } from './helpers.js';

interface Chat extends Protocol {
  client: { say: { n: number } };
  server: { said: { n: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

it('moves a session to the node its client resumes on: nothing lost or repeated, both ways', async () => {
  const hub = new MemoryHub();
  const [a, b] = await startNodes<Chat>(disposer, hub, ['a', 'b']);
  const onA = firstValueFrom(a!.server.sessions$);
  const { client, welcome } = await RawClient.open(a!.url, disposer);
  const sessionA = await onA;
  const heard: number[] = [];
  sessionA.on('say').subscribe(({ n }) => heard.push(n));
  const closedA = firstValueFrom(sessionA.closed$);
  for (let n = 1; n <= 3; n++) sessionA.send('said', { n });
  client.send(envelope('say', { n: 1 }, { seq: 1 }));
  client.send(envelope('say', { n: 2 }, { seq: 2, ack: 1 }));
  const got = await client.until((f) => f.type === 'said' && f.seq === 3);
  expect(got.filter((f) => f.type === 'said').map((f) => f.seq)).toEqual([1, 2, 3]);
  client.ws.terminate(); // a drop: the session waits for a resume on a

  const onB = firstValueFrom(b!.server.sessions$);
  const payload = welcome.payload as { sessionId: string; resumeToken: string };
  const moved = await RawClient.open(b!.url, disposer, {
    resume: { sessionId: payload.sessionId, token: payload.resumeToken, ack: 1 },
  });
  expect(moved.welcome.payload).toMatchObject({
    sessionId: payload.sessionId,
    resumed: true,
    ack: 2,
  });
  const resent = await moved.client.until((f) => f.seq === 3);
  expect(resent.map((f) => [f.type, f.seq])).toEqual([
    ['said', 2],
    ['said', 3],
  ]);
  const sessionB = (await within(onB, 5_000, 'sessions$ on b')) as Session<Chat>;
  expect(sessionB.id).toBe(payload.sessionId);
  expect(sessionB.movedFrom).toBe('a');
  expect(sessionB.nodeId).toBe('b');
  expect(await within(closedA, 5_000, 'closed$ on a')).toEqual<SessionClose>({
    code: 4409,
    reason: 'the session was resumed on another node',
    moved: { to: 'b' },
  });
  expect(a!.server.sessions.size).toBe(0);

  // Numbering continues on b, both ways; the client's repeat of seq 2 is dropped.
  const heardB: number[] = [];
  sessionB.on('say').subscribe(({ n }) => heardB.push(n));
  moved.client.send(envelope('say', { n: 2 }, { seq: 2, ack: 3 }));
  moved.client.send(envelope('say', { n: 3 }, { seq: 3 }));
  sessionB.send('said', { n: 4 });
  const next = await moved.client.until((f) => f.type === 'said');
  expect(next.at(-1)).toMatchObject({ seq: 4, payload: { n: 4 } });
  await until(() => heardB.length > 0, 5_000, 'the client message on b');
  expect(heard).toEqual([1, 2]);
  expect(heardB).toEqual([3]);
  expect(a!.server.cluster).toMatchObject({ handoversOut: 1 });
  expect(b!.server.cluster).toMatchObject({ handoversIn: 1 });
  const presence = await firstValueFrom(b!.server.presence$.pipe(take(1), toArray()));
  expect(presence[0]).toEqual([
    { sessionId: payload.sessionId, userKey: expect.any(String), nodeId: 'b', connected: true },
  ]);
});

it('memoryCluster() without a hub: the servers of one process share a default one', async () => {
  const a = await startServer(disposer, {
    heartbeat: false,
    cluster: memoryCluster({ nodeId: 'da' }),
  });
  const b = await startServer(disposer, {
    heartbeat: false,
    cluster: memoryCluster({ nodeId: 'db' }),
  });
  const session = firstValueFrom(a.server.sessions$);
  const { client } = await RawClient.open(a.url, disposer);
  const { id } = await session;
  await b.server.sendTo(id, 'said', { n: 1 });
  expect(await client.next()).toMatchObject({ type: 'said', payload: { n: 1 } });
  await until(() => b.server.cluster!.nodes.includes('da'), 5_000, 'b to see a');
});
