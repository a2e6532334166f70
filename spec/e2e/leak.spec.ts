import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { createClient } from '../../src/index';
import { TestServer, waitFor } from '../helpers/test-server';
import { settledHeap } from '../helpers/server-gc';
import { Disposer, startServer } from '../helpers/server-harness';

/** Active handles and requests by kind (sockets, timers...). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

async function settle(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('no leaks', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = new TestServer();
    await server.start();
  });
  afterAll(() => server.stop());

  it('1,000 connect/disconnect cycles leave no sockets, timers or listeners behind', async () => {
    const baseline = resources();
    const client = createClient({
      url: server.url,
      WebSocketCtor: WebSocket,
      heartbeat: { interval: 10_000, timeout: 5_000 },
    });
    for (let i = 0; i < 1000; i++) {
      await waitFor(client.state$, (s) => s.status === 'connected');
      client.disconnect();
      await waitFor(client.state$, (s) => s.status === 'disconnected');
      if (i < 999) client.connect();
    }
    client.dispose();
    await settle(
      () =>
        server.sockets.size === 0 &&
        (resources().TCPSocketWrap ?? 0) <= (baseline.TCPSocketWrap ?? 0),
    );
    expect(server.sockets.size).toBe(0);
    const after = resources();
    expect(after.TCPSocketWrap ?? 0).toBeLessThanOrEqual(baseline.TCPSocketWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual((baseline.Timeout ?? 0) + 1);
  });

  it('1,000 clients created and disposed while connected leave nothing behind', async () => {
    const baseline = resources();
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, () =>
        createClient({ url: server.url, WebSocketCtor: WebSocket }),
      );
      await Promise.all(batch.map((c) => waitFor(c.state$, (s) => s.status === 'connected')));
      batch.forEach((c) => c.dispose());
    }
    await settle(
      () =>
        server.sockets.size === 0 &&
        (resources().TCPSocketWrap ?? 0) <= (baseline.TCPSocketWrap ?? 0),
    );
    expect(server.sockets.size).toBe(0);
    expect(resources().TCPSocketWrap ?? 0).toBeLessThanOrEqual(baseline.TCPSocketWrap ?? 0);
  });

  it('10,000 on() subscribe/unsubscribe cycles do not grow the heap', async () => {
    const client = createClient({ url: server.url, WebSocketCtor: WebSocket });
    await waitFor(client.state$, (s) => s.status === 'connected');
    const cycle = (n: number) => {
      for (let i = 0; i < n; i++) client.on(`type-${i}`).subscribe().unsubscribe();
    };
    cycle(10_000); // warm up JIT and internal tables
    const before = await settledHeap();
    cycle(10_000);
    const after = await settledHeap();
    // 10,000 leaked subscriptions (Map entry + Set + Subscriber) would be megabytes
    expect(after - before).toBeLessThan(512 * 1024);
    client.dispose();
  });
});

describe('what an open session keeps', () => {
  const disposer = new Disposer();
  afterEach(() => disposer.drain());

  it('does not keep the upgrade request alive (about 1.5 kB per idle connection)', async () => {
    // authenticate is handed the upgrade request; once the session is open,
    // nothing may hold it (session.request keeps url, headers, socket and ip).
    const requests: Array<WeakRef<IncomingMessage>> = [];
    const { server, url } = await startServer(disposer, {
      authenticate: (_token, request) => {
        requests.push(new WeakRef(request));
        return { id: `u${requests.length}` };
      },
    });
    const clients = Array.from({ length: 20 }, () =>
      createClient({ url, WebSocketCtor: WebSocket, heartbeat: false }),
    );
    disposer.add(() => clients.forEach((c) => c.dispose()));
    await Promise.all(clients.map((c) => waitFor(c.state$, (s) => s.status === 'connected')));
    expect(server.sessions.size).toBe(20);
    await settledHeap();
    expect(requests.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });
});
