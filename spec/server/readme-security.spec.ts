// The README's Security snippets (section Security: Limits, Revocation), run
// on real sockets. The code between the readme-* markers is the README's,
// verbatim (dedented); the tests around it provide `http`, `app`, `log` and
// `jwt`, and check that each snippet does what the README says.
import express from 'express';
import { SignJWT } from 'jose';
import { createServer as createHttpServer } from 'node:http';
import { filter, firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { createClient, type WebSocketConstructor } from 'rxwire';
import { createServer, forbidden, verifyJwt } from 'rxwire/server';
import { Disposer, RawClient, closeHttp, listen, within } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

it('Limits: trustProxy, the limits, session.request.ip in the log and server.limits as JSON', async () => {
  const app = express();
  const http = createHttpServer(app);
  const logged: unknown[] = [];
  const log = { info: (message: string, context: unknown) => logged.push([message, context]) };

  // #region readme-security-limits
  const server = createServer({
    server: http, // behind one load balancer, which appends the client's address to X-Forwarded-For
    trustProxy: 1,
    maxConnections: 20_000, // what this process can hold (memory, ulimit -n)
    maxConnectionsPerIp: 200, // generous: offices and mobile carriers put many users behind one address
  });
  server.sessions$.subscribe((session) =>
    log.info('session', { id: session.id, ip: session.request.ip }),
  );
  app.get('/metrics/rxwire', (_req, res) => {
    res.json(server.limits); // { connections, handshakes, addresses, refused: { maxConnections, ... } }
  });
  // #endregion

  const port = await listen(http);
  disposer.add(async () => {
    await server.close();
    await closeHttp(http);
  });
  const { welcome } = await RawClient.open(
    `ws://127.0.0.1:${port}/ws`,
    disposer,
    {},
    { headers: { 'X-Forwarded-For': '203.0.113.50, 198.51.100.23' } },
  );
  const id = (welcome.payload as { sessionId: string }).sessionId;
  expect(logged).toEqual([['session', { id, ip: '198.51.100.23' }]]);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics/rxwire`)).json();
  expect(metrics).toEqual({
    connections: 1,
    handshakes: 0,
    addresses: 1,
    refused: { maxConnections: 0, maxConnectionsPerIp: 0, maxHandshakes: 0 },
  });
});

it('Revocation: banning a user ends their sessions, and authenticate keeps them out', async () => {
  const app = express();
  const http = createHttpServer(app);
  const jwt = { secret: 'a-test-secret-that-is-long-enough-for-hs256' };
  const sign = (sub: string) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(jwt.secret));

  // #region readme-security-revocation
  const banned = new Set<string>();
  const server = createServer({
    server: http,
    authenticate: async (token) => {
      const claims = await verifyJwt(token, jwt);
      return banned.has(claims.sub!) ? forbidden('banned') : claims;
    },
  });
  app.post('/admin/users/:id/ban', async (req, res) => {
    banned.add(req.params.id);
    res.json({ ended: await server.disconnectUser(req.params.id) });
  });
  // #endregion

  const port = await listen(http);
  disposer.add(async () => {
    await server.close();
    await closeHttp(http);
  });
  const url = `ws://127.0.0.1:${port}/ws`;
  const token = await sign('mallory');
  const client = createClient({
    url,
    token,
    heartbeat: false,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
  });
  disposer.add(() => client.dispose());
  client.connect();
  await within(
    firstValueFrom(client.state$.pipe(filter((s) => s.status === 'connected'))),
    10_000,
    'mallory to connect',
  );
  await RawClient.open(url, disposer, { token: await sign('trent') });

  const answer = await fetch(`http://127.0.0.1:${port}/admin/users/mallory/ban`, {
    method: 'POST',
  });
  expect(await answer.json()).toEqual({ ended: 1 });
  const stopped = await within(
    firstValueFrom(client.state$.pipe(filter((s) => s.status === 'error'))),
    10_000,
    'mallory to be stopped',
  );
  expect(stopped.lastClose).toMatchObject({ code: 4403, reason: 'session revoked' });
  // The same token no longer opens a session; trent's is still there.
  const again = await RawClient.connect(url, disposer);
  again.send({
    type: '$hello',
    id: 'h',
    payload: { v: 1, token },
    timestamp: new Date().toISOString(),
  });
  expect(await again.waitClosed()).toEqual({ code: 4403, reason: 'banned' });
  expect(server.sessions.size).toBe(1);
});
