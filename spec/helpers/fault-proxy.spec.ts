// The chaos-test proxy itself: real sockets on 127.0.0.1, port 0 everywhere.
// Correctness never depends on sleeping; tests wait for socket events, and the
// few timers only pace writes so that several faults overlap the traffic.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  startFaultProxy,
  type FaultKind,
  type FaultProxy,
  type FaultProxyOptions,
} from './fault-proxy';

/** One upstream-side connection: every chunk it received, with arrival times. */
class Conn {
  readonly chunks: Buffer[] = [];
  readonly times: number[] = [];
  length = 0;
  ended = false;
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.times.push(Date.now());
      this.length += d.length;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      check();
    });
  }

  bytes(n: number): Promise<void> {
    return this.until(() => this.length >= n, `${n} bytes (have ${this.length})`);
  }

  closedP(): Promise<void> {
    return this.until(() => this.closed, 'close');
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}

/** An upstream TCP server on port 0: echoes, or just records. */
class Upstream {
  readonly conns: Conn[] = [];
  private readonly server: net.Server;
  private waiters: Array<() => void> = [];
  port = 0;

  constructor(echo: boolean) {
    this.server = net.createServer((socket) => {
      const conn = new Conn(socket);
      if (echo) socket.pipe(socket);
      this.conns.push(conn);
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  nth(i: number): Promise<Conn> {
    return new Promise((resolve) => {
      const check = (): void => {
        const c = this.conns[i];
        if (c) resolve(c);
        else this.waiters.push(check);
      };
      check();
    });
  }

  close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Polls `cond` on each turn of the event loop until it holds (bounded). */
async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function upstream(echo = false): Promise<Upstream> {
  const u = await new Upstream(echo).listen();
  cleanups.push(() => u.close());
  return u;
}

async function proxyTo(port: number, opts: Partial<FaultProxyOptions> = {}): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: { port }, seed: 1, ...opts });
  cleanups.push(() => p.close());
  return p;
}

async function connect(port: number): Promise<Conn> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const conn = new Conn(socket);
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return conn;
}

/** A client connected through the proxy, with the pair proven live by a round trip. */
async function pairThrough(
  proxy: FaultProxy,
  up: Upstream,
): Promise<{ client: Conn; server: Conn }> {
  const index = up.conns.length;
  const client = await connect(proxy.port);
  const server = await up.nth(index);
  client.socket.write('ping');
  await server.bytes(4);
  server.socket.write('pong');
  await client.bytes(4);
  client.chunks.length = server.chunks.length = 0;
  client.times.length = server.times.length = 0;
  client.length = server.length = 0;
  return { client, server };
}

/** Writes `data` in chunks of random size, yielding between writes so chunks stay separate. */
async function writeChunked(socket: net.Socket, data: Buffer, maxChunk = 65536): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * maxChunk));
    if (!socket.write(data.subarray(off, off + n)))
      await new Promise<void>((r) => socket.once('drain', r));
    off += n;
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe('fault proxy', () => {
  it('passes 1 MB through unchanged in both directions', async () => {
    const up = await upstream();
    const proxy = await proxyTo(up.port);
    const { client, server } = await pairThrough(proxy, up);
    const a = randomBytes(1 << 20);
    const b = randomBytes(1 << 20);
    await Promise.all([writeChunked(client.socket, a), writeChunked(server.socket, b)]);
    await Promise.all([server.bytes(a.length), client.bytes(b.length)]);
    expect(server.data.equals(a)).toBe(true);
    expect(client.data.equals(b)).toBe(true);
    expect(proxy.stats.bytesUp).toBe(a.length + 4);
    expect(proxy.stats.bytesDown).toBe(b.length + 4);
    expect(proxy.stats).toMatchObject({ connections: 1, active: 1, cuts: 0 });

    // A FIN is forwarded after the data, and a clean close on both sides ends the pair.
    client.socket.end();
    await server.until(() => server.ended, 'upstream end');
    server.socket.end();
    await Promise.all([client.closedP(), server.closedP()]);
    await until(() => proxy.stats.active === 0, 'the pair to close');
  });

  it('cutAll destroys both sides', async () => {
    const up = await upstream();
    const lines: string[] = [];
    const proxy = await proxyTo(up.port, { logger: (line) => lines.push(line) });
    const one = await pairThrough(proxy, up);
    const two = await pairThrough(proxy, up);
    proxy.cutAll();
    await Promise.all([one.client, one.server, two.client, two.server].map((c) => c.closedP()));
    expect(proxy.stats).toMatchObject({ cuts: 2, active: 0, connections: 2 });
    expect(proxy.history).toEqual([
      { kind: 'cut', at: expect.any(Number), pairs: 2, scheduled: false },
    ]);
    expect(lines).toContain(`[fault-proxy :${proxy.port}] manual cut on #1,#2`);
  });

  it('stallAll holds bytes both ways for ~ms, keeps the connection open, then delivers them in order', async () => {
    const up = await upstream();
    const proxy = await proxyTo(up.port);
    const { client, server } = await pairThrough(proxy, up);
    const ms = 600;
    const a = randomBytes(200_000);
    const b = randomBytes(200_000);
    const t0 = Date.now();
    proxy.stallAll(ms);
    await Promise.all([writeChunked(client.socket, a, 8192), writeChunked(server.socket, b, 8192)]);
    await Promise.all([server.bytes(a.length), client.bytes(b.length)]);
    expect(server.times[0]! - t0).toBeGreaterThanOrEqual(0.8 * ms);
    expect(client.times[0]! - t0).toBeGreaterThanOrEqual(0.8 * ms);
    expect(server.data.equals(a)).toBe(true);
    expect(client.data.equals(b)).toBe(true);
    expect(client.closed || server.closed).toBe(false);
    expect(proxy.stats.stalls).toBe(1);
  });

  it('tears the pair down when a side closes during a stall', async () => {
    const up = await upstream();
    const proxy = await proxyTo(up.port);
    const { client, server } = await pairThrough(proxy, up);
    proxy.stallAll(10_000);
    const t0 = Date.now();
    client.socket.destroy();
    await server.closedP();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(proxy.stats.active).toBe(0);
  });

  it('stop() releases a pending stall at once', async () => {
    const up = await upstream();
    const proxy = await proxyTo(up.port);
    const { client, server } = await pairThrough(proxy, up);
    proxy.stallAll(20_000);
    client.socket.write('held');
    await new Promise<void>((r) => setImmediate(r));
    const t0 = Date.now();
    proxy.stop();
    await server.bytes(4);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(server.data.toString()).toBe('held');
  });

  it('bounds what a stall queues by pausing the source, and loses nothing', async () => {
    const up = await upstream();
    const maxQueuedBytes = 256 * 1024;
    const proxy = await proxyTo(up.port, { maxQueuedBytes });
    const { client, server } = await pairThrough(proxy, up);
    proxy.stallAll(60_000);
    const a = randomBytes(8 << 20);
    client.socket.write(a);
    // The proxy fills its queue to the cap, then pauses and the writer backs up.
    await until(() => proxy.stats.peakQueuedBytes >= maxQueuedBytes, 'the queue to fill');
    await until(() => client.socket.writableLength > 0, 'the writer to back up');
    expect(server.length).toBe(0);
    proxy.stop();
    await server.bytes(a.length);
    expect(server.data.equals(a)).toBe(true);
    expect(proxy.stats.peakQueuedBytes).toBeGreaterThanOrEqual(maxQueuedBytes);
    expect(proxy.stats.peakQueuedBytes).toBeLessThan(maxQueuedBytes + 256 * 1024);
  });

  it('delay holds each chunk but preserves byte order per direction', async () => {
    const up = await upstream(true);
    const proxy = await proxyTo(up.port);
    const { client } = await pairThrough(proxy, up);
    proxy.delayAll(10_000, [30, 90]);
    const frames = Buffer.alloc(4 * 2000);
    for (let i = 0; i < 2000; i++) frames.writeUInt32BE(i, 4 * i);
    const t0 = Date.now();
    await writeChunked(client.socket, frames, 400);
    await client.bytes(frames.length);
    // Delayed on the way up and again on the way down.
    expect(client.times[0]! - t0).toBeGreaterThanOrEqual(0.8 * 60);
    expect(client.data.equals(frames)).toBe(true);
    expect(client.chunks.length).toBeGreaterThan(1);
    expect(proxy.stats.delays).toBe(1);
  });

  it('refuse(true) closes new connections without reaching upstream', async () => {
    const up = await upstream();
    const proxy = await proxyTo(up.port);
    proxy.refuse(true);
    const conn = await connect(proxy.port);
    await conn.closedP();
    expect(conn.length).toBe(0);
    expect(up.conns).toHaveLength(0);
    expect(proxy.stats.refused).toBe(1);
    proxy.refuse(false);
    await pairThrough(proxy, up);
    expect(up.conns).toHaveLength(1);
  });

  it('closes the client when the upstream is unreachable', async () => {
    const gone = await new Upstream(false).listen();
    await gone.close();
    const proxy = await proxyTo(gone.port);
    const conn = await connect(proxy.port);
    await conn.closedP();
    expect(proxy.stats.active).toBe(0);
  });

  it('the same seed gives the same sequence of fault kinds, whatever the traffic', async () => {
    const up = await upstream(true);
    const N = 12;
    const run = async (seed: number, connections: number): Promise<FaultKind[]> => {
      const kinds: FaultKind[] = [];
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const proxy = await proxyTo(up.port, {
        seed,
        minIntervalMs: 5,
        maxIntervalMs: 15,
        stallMs: 20,
        delayMs: [1, 5],
        onFault: (e) => {
          if (e.scheduled && kinds.push(e.kind) === N) done();
        },
      });
      for (let i = 0; i < connections; i++) await pairThrough(proxy, up);
      proxy.start();
      await finished;
      proxy.stop();
      const gaps = proxy.history.slice(1).map((e, i) => e.at - proxy.history[i]!.at);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(4);
      return kinds;
    };
    const a = await run(42, 0);
    const b = await run(42, 3);
    const c = await run(7, 0);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('keeps bytes intact and in order under a random schedule of stalls and delays', async () => {
    const up = await upstream(true);
    const proxy = await proxyTo(up.port, {
      seed: 3,
      faults: true,
      kinds: ['stall', 'delay'],
      minIntervalMs: 20,
      maxIntervalMs: 60,
      stallMs: 80,
      delayMs: [1, 20],
    });
    const { client } = await pairThrough(proxy, up);
    const data = randomBytes(256 * 1024);
    for (let off = 0; off < data.length; off += 4096) {
      client.socket.write(data.subarray(off, off + 4096));
      await new Promise<void>((r) => setTimeout(r, 4));
    }
    await client.bytes(data.length);
    proxy.stop();
    expect(client.data.equals(data)).toBe(true);
    expect(proxy.history.filter((e) => e.scheduled && e.pairs === 1).length).toBeGreaterThan(2);
    expect(proxy.stats.stalls + proxy.stats.delays).toBeGreaterThan(2);
    expect(client.closed).toBe(false);
  });

  it('close() destroys connections and releases the port', async () => {
    const up = await upstream();
    const proxy = await startFaultProxy({ target: { port: up.port }, seed: 9, faults: true });
    const { client } = await pairThrough(proxy, up);
    const port = proxy.port;
    await proxy.close();
    await proxy.close(); // idempotent
    await client.closedP();
    const refused = await new Promise<string | undefined>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      s.on('connect', () => {
        s.destroy();
        resolve(undefined);
      });
    });
    expect(refused).toBe('ECONNREFUSED');
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((r) => again.close(() => r()));
  });

  describe('with ws', () => {
    async function wsEcho(): Promise<{ port: number; closed: Promise<number> }> {
      const http = createHttpServer();
      const wss = new WebSocketServer({ server: http, path: '/ws' });
      let serverClosed!: (code: number) => void;
      const closed = new Promise<number>((r) => (serverClosed = r));
      wss.on('connection', (ws) => {
        ws.on('error', () => {});
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('close', (code) => serverClosed(code));
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      cleanups.push(async () => {
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        http.closeAllConnections();
        await new Promise<void>((r) => http.close(() => r()));
      });
      return { port: (http.address() as AddressInfo).port, closed };
    }

    async function open(url: string): Promise<WebSocket> {
      const ws = new WebSocket(url);
      cleanups.push(() => ws.terminate());
      ws.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('close', (code) => reject(new Error(`closed ${code} before open`)));
      });
      return ws;
    }

    function next(ws: WebSocket): Promise<Buffer> {
      return new Promise((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    }

    function closed(ws: WebSocket): Promise<number> {
      return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    }

    it('echoes messages through the proxy, and a cut gives the client 1006', async () => {
      const server = await wsEcho();
      const proxy = await proxyTo(server.port);
      const ws = await open(`${proxy.url}/ws`);
      const reply = next(ws);
      ws.send('hello');
      expect((await reply).toString()).toBe('hello');
      const big = randomBytes(300_000);
      const bigReply = next(ws);
      ws.send(big);
      expect((await bigReply).equals(big)).toBe(true);

      const code = closed(ws);
      proxy.cutAll();
      expect(await code).toBe(1006);
    });

    it('a clean close passes through with its code', async () => {
      const server = await wsEcho();
      const proxy = await proxyTo(server.port);
      const ws = await open(`${proxy.url}/ws`);
      const code = closed(ws);
      ws.close(4000, 'bye');
      expect(await code).toBe(4000);
      expect(await server.closed).toBe(4000);
      await until(() => proxy.stats.active === 0, 'the pair to close');
    });
  });
});
