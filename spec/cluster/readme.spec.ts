// The README's "Scaling out" examples, verbatim between the region markers
// (their imports are the first lines of this file), run against a private
// redis-server: a clustered server, sendTo, presence, a session moving in, and
// close() draining first.
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { createServer } from 'rxwire/server';
import { redisCluster } from 'rxwire/cluster';
import type { Protocol } from '../../src/protocol/index.js';
import { RedisServer, hasRedisServer } from '../helpers/redis-server.js';
import { Disposer, RawClient, until } from '../helpers/server-harness.js';

interface ChatProtocol extends Protocol {
  client: { typing: { on: boolean } };
  server: { order_status: { id: number; status: string } };
}

const maybe = hasRedisServer() ? it : it.skip;
const disposer = new Disposer();
afterEach(() => disposer.drain());

maybe('runs the Scaling out examples', async () => {
  const redis = await RedisServer.start();
  disposer.add(() => redis.stop());
  process.env.REDIS_URL = redis.url;
  process.env.RXWIRE_CLUSTER_SECRET = 'the cluster secret of the README test, 32+ bytes';
  const http = createHttpServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  disposer.add(() => new Promise<void>((resolve) => http.close(() => resolve())));

  // #region readme-cluster
  const server = createServer<ChatProtocol>({
    server: http,
    cluster: redisCluster({
      url: process.env.REDIS_URL, // e.g. redis://10.0.0.5:6379
      secret: process.env.RXWIRE_CLUSTER_SECRET!, // the same 32+ bytes on every node
    }),
  });
  // #endregion
  disposer.add(() => server.close());

  await until(() => server.cluster?.state === 'up', 10_000, 'the node to join');
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`;
  const opened = await RawClient.open(url, disposer);
  const sessionId = (opened.welcome.payload as { sessionId: string }).sessionId;
  const order = { sessionId, id: 42 };
  const gauges: number[] = [];
  const metrics = { gauge: (_name: string, value: number) => gauges.push(value) };
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const sigterm = process.listeners('SIGTERM').length;

  // #region readme-cluster-api
  await server.sendTo(order.sessionId, 'order_status', { id: order.id, status: 'shipped' });
  server.presence$.subscribe((all) => metrics.gauge('sessions', all.length));
  server.sessions$.subscribe((session) => {
    if (session.movedFrom) log(`${session.id} moved in from ${session.movedFrom}`);
    session.closed$.subscribe(({ moved }) => moved && log(`${session.id} moved on`));
  });
  process.on('SIGTERM', () => void server.close()); // drains first: sessions move, none is lost
  // #endregion

  const handler = process.listeners('SIGTERM')[sigterm]!;
  process.off('SIGTERM', handler);
  const status = await opened.client.next();
  expect(status).toMatchObject({ type: 'order_status', payload: { id: 42, status: 'shipped' } });
  expect(gauges.at(-1)).toBe(1);
  opened.client.ws.terminate();

  // A second node: the session moves there when its client resumes on it.
  const other = createHttpServer();
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  disposer.add(() => new Promise<void>((resolve) => other.close(() => resolve())));
  const second = createServer<ChatProtocol>({
    server: other,
    cluster: redisCluster({ url: redis.url, secret: process.env.RXWIRE_CLUSTER_SECRET }),
  });
  disposer.add(() => second.close());
  await until(() => second.cluster?.state === 'up', 10_000, 'the second node to join');
  // A client that connects now, then resumes on the second node: its session moves there.
  const mover = await RawClient.open(url, disposer);
  const { sessionId: moverId, resumeToken } = mover.welcome.payload as {
    sessionId: string;
    resumeToken: string;
  };
  const arrived = firstValueFrom(second.sessions$);
  mover.client.ws.terminate();
  const moved = await RawClient.open(
    `ws://127.0.0.1:${(other.address() as AddressInfo).port}/ws`,
    disposer,
    { resume: { sessionId: moverId, token: resumeToken, ack: 0 } },
  );
  expect(moved.welcome.payload).toMatchObject({ sessionId: moverId, resumed: true });
  expect((await arrived).movedFrom).toBe(server.nodeId);
  await until(() => lines.includes(`${moverId} moved on`), 5_000, 'closed$ on the first node');
  await until(() => gauges.at(-1) === 2, 5_000, 'presence: both sessions');
  await server.close(); // what the SIGTERM handler does
  expect(server.cluster?.nodes).toBeDefined();
});
