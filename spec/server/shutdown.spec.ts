// Graceful shutdown on real sockets: 1001 to everyone, bounded wait, the port
// free at once, and an attached Express server left running.
import express from 'express';
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { firstValueFrom, toArray } from 'rxjs';
import { CloseCode } from '../../src/protocol/index.js';
import { createServer } from '../../server/index.js';
import {
  Disposer,
  RawClient,
  closeHttp,
  listen,
  startServer,
  within,
} from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

describe('server.close()', () => {
  it('sends 1001 to every client, completes sessions$, and frees the port for a new server at once', async () => {
    const first = createServer({ port: 0, host: '127.0.0.1', heartbeat: false });
    disposer.add(() => first.close());
    const { port } = await first.ready();
    const url = `ws://127.0.0.1:${port}/ws`;
    const allSessions = firstValueFrom(first.sessions$.pipe(toArray()));
    const clients = await Promise.all(
      [1, 2, 3].map(async () => (await RawClient.open(url, disposer)).client),
    );
    const pending = await RawClient.connect(url, disposer); // still in the handshake
    const sessionEnds = [...first.sessions.values()].map((s) => firstValueFrom(s.closed$));

    await within(first.close(), 5_000, 'close()');

    for (const client of [...clients, pending]) {
      expect(await client.waitClosed()).toEqual({
        code: CloseCode.GoingAway,
        reason: 'server shutting down',
      });
    }
    expect(await allSessions).toHaveLength(3);
    expect((await Promise.all(sessionEnds)).map((c) => c.code)).toEqual([1001, 1001, 1001]);
    expect(first.sessions.size).toBe(0);
    expect(first.httpServer.listening).toBe(false);

    // The port is free right away: a new server binds it and the clients come back.
    const second = createServer({ port, host: '127.0.0.1', heartbeat: false });
    disposer.add(() => second.close());
    expect((await second.ready()).port).toBe(port);
    const back = await Promise.all(clients.map(() => RawClient.open(url, disposer)));
    expect(back.map((b) => b.welcome.type)).toEqual(['$welcome', '$welcome', '$welcome']);
    expect(second.sessions.size).toBe(3);
  });

  it('terminates clients that do not answer the close within shutdownTimeout', async () => {
    const { server, url } = await startServer(disposer, { heartbeat: false, shutdownTimeout: 100 });
    const sessions = firstValueFrom(server.sessions$);
    const { client } = await RawClient.open(url, disposer);
    const session = await sessions;
    (client.ws as unknown as { _socket: Socket })._socket.pause();
    const started = Date.now();
    await within(server.close(), 3_000, 'close()');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(session.state).toBe('closed');
  });

  it('leaves an attached Express server running, and only stops taking WebSocket upgrades', async () => {
    const app = express();
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    const http = createHttpServer(app);
    const port = await listen(http);
    disposer.add(() => closeHttp(http));
    const server = createServer({ server: http, heartbeat: false });
    const url = `ws://127.0.0.1:${port}/ws`;
    const { client } = await RawClient.open(url, disposer);

    await server.close();
    expect((await client.waitClosed()).code).toBe(CloseCode.GoingAway);
    expect(http.listening).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok');
    // Nobody takes /ws upgrades any more.
    await expect(RawClient.connect(url, disposer)).rejects.toBeDefined();
    expect(http.listenerCount('upgrade')).toBe(0);
  });

  it('is idempotent', async () => {
    const { server } = await startServer(disposer, { heartbeat: false });
    const a = server.close();
    expect(server.close()).toBe(a);
    await a;
  });
});
