// The README's two snippets on ports (section Server): `port: 0` with
// `ready()`, and `close()` freeing rxwire's own port; an attached server that
// `close()` leaves listening until its owner closes it (that sessions get 1001
// and Express keeps answering meanwhile is in shutdown.spec.ts). The code
// between the readme-* markers is the README's, verbatim (dedented).
import express from 'express';
import { createServer as createHttpServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createServer } from '../../server/index.js';
import { Disposer } from '../helpers/server-harness.js';

const disposer = new Disposer();
afterEach(() => disposer.drain());

/** Resolves with the error code of a TCP connection to `port` on localhost, or 'connected'. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, 'localhost');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

it('port: 0 — ready() says which port; close() frees it', async () => {
  let listeningAtLog: unknown;
  const printed = jest.spyOn(console, 'log').mockImplementation(() => {
    listeningAtLog = server.httpServer.address();
  });
  disposer.add(() => printed.mockRestore());

  // #region readme-server-port-0
  const server = createServer({ port: 0 });
  const { port } = await server.ready();
  console.log(`rxwire on ws://localhost:${port}/ws`); // server.httpServer.address() says the same
  // ... later:
  await server.close(); // 1001 to every session, then its own http server closes: the port is free
  // #endregion

  expect(port).toBeGreaterThan(0);
  expect(printed).toHaveBeenCalledWith(`rxwire on ws://localhost:${port}/ws`);
  expect(listeningAtLog).toMatchObject({ port });
  expect(server.httpServer.listening).toBe(false);
  expect(await probe(port)).toBe('ECONNREFUSED');
});

it('an attached server — ready() resolves once yours listens; closing it is up to you', async () => {
  const app = express();
  const http = createHttpServer(app);
  const events: string[] = [];
  http.on('listening', () => events.push(`listening on ${(http.address() as AddressInfo).port}`));
  http.on('close', () => events.push('closed'));

  // #region readme-server-attached
  const server = createServer({ server: http }); // `http` and `app` as above
  http.listen(0);
  const { port } = await server.ready(); // resolves once `http` listens
  // ... later:
  await server.close(); // sessions get 1001, /ws is taken off `http`; Express still answers on `port`
  await new Promise((done) => http.close(done)); // your server: closing it frees the port
  // #endregion

  expect(events).toEqual([`listening on ${port}`, 'closed']);
  expect(server.httpServer).toBe(http);
  expect(await probe(port)).toBe('ECONNREFUSED');
});
