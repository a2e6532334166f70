import WebSocket from 'ws';
import { createClient } from '../../src/index';
import { TestServer, waitFor } from '../helpers/test-server';
import { settledHeap } from '../helpers/server-gc';

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
