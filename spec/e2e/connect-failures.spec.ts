// "Nothing listening" used to be reported only as `closed 1006`. Over real
// sockets, the client keeps what Node's ws says about a failed connection:
// the error code of a refused connection, the HTTP status of a refused
// upgrade, in `lastClose`, in the error's message, and in the log.
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createClient, type Client, type RxwireError } from '../../src/index';
import { freePort } from '../helpers/redis-server';

const clients: Client[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.dispose()));

function connect(url: string, logs: unknown[] = []) {
  const client = createClient({
    url,
    WebSocketCtor: WebSocket,
    reconnect: { maxAttempts: 1, initialDelay: 10, jitter: 0 },
    logger: { info: (message, context) => logs.push({ message, context }) },
  });
  clients.push(client);
  return client;
}

const gaveUp = (client: Client) =>
  firstValueFrom(
    client.state$.pipe(
      filter((s) => s.status === 'error'),
      timeout(10_000),
    ),
  );

it('keeps ECONNREFUSED when nothing listens, and says "after 1 retry"', async () => {
  const port = await freePort(); // free: nothing listens there
  const logs: Array<{ message: string; context: { close?: { cause?: string } } }> = [];
  const state = await gaveUp(connect(`ws://127.0.0.1:${port}/ws`, logs));
  expect(state.lastClose).toMatchObject({ code: 1006, wasClean: false, cause: 'ECONNREFUSED' });
  expect(state.error?.code).toBe('RXWIRE_RECONNECT_FAILED');
  expect(state.error?.message).toMatch(/gave up after 1 retry \(reconnect.maxAttempts\)/);
  expect(state.error?.message).toMatch(/ECONNREFUSED/);
  expect((state.error?.cause as RxwireError).message).toMatch(/1006 \(ECONNREFUSED\)/);
  const ended = logs.filter((l) => l.message === 'rxwire: connection attempt ended');
  expect(ended).toHaveLength(2);
  expect(ended[0]!.context.close?.cause).toBe('ECONNREFUSED');
});

describe('an upgrade the server refuses', () => {
  let http: Server;
  let status = 503;
  beforeAll(async () => {
    http = createHttpServer();
    http.on('upgrade', (_req, socket) => {
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it.each([503, 403])('keeps the HTTP status (%i)', async (code) => {
    status = code;
    const port = (http.address() as AddressInfo).port;
    const state = await gaveUp(connect(`ws://127.0.0.1:${port}/ws`));
    expect(state.lastClose).toMatchObject({
      code: 1006,
      httpStatus: code,
      cause: `HTTP ${code}`,
    });
    expect((state.error?.cause as RxwireError).message).toBe(
      `connection refused by the server: HTTP ${code}`,
    );
  });
});
