// An HTTP proxy that can refuse WebSocket upgrades while passing plain HTTP,
// like a corporate proxy or a strict firewall: for tests of the HTTP fallback
// transport. Normal requests (streaming responses such as Server-Sent Events,
// and POST bodies) are forwarded with http.request; an upgrade gets a plain
// `HTTP/1.1 403` while `blockUpgrades` is true and is piped through to the
// target (the raw request head, then both directions) while it is false.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface UpgradeBlocker {
  /** Listening port (127.0.0.1). */
  readonly port: number;
  /** ws://127.0.0.1:<port> */
  readonly url: string;
  /** While true, every upgrade is answered with 403. */
  blockUpgrades: boolean;
  readonly stats: { requests: number; upgradesRefused: number; upgradesPassed: number };
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export async function startUpgradeBlocker(options: {
  target: { host?: string; port: number };
  blockUpgrades?: boolean;
}): Promise<UpgradeBlocker> {
  const host = options.target.host ?? '127.0.0.1';
  const { port } = options.target;
  const sockets = new Set<net.Socket>();
  const stats = { requests: 0, upgradesRefused: 0, upgradesPassed: 0 };
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    stats.requests++;
    const upstream = http.request(
      { host, port, method: req.method, path: req.url, headers: req.headers, agent },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.flushHeaders();
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The client went away: so does the upstream request (ends an SSE stream upstream).
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const blocker: UpgradeBlocker = {
    port: 0,
    url: '',
    blockUpgrades: options.blockUpgrades ?? false,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    if (blocker.blockUpgrades) {
      stats.upgradesRefused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    stats.upgradesPassed++;
    const upstream = net.connect(port, host, () => {
      let raw = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      }
      upstream.write(`${raw}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      socket.destroy();
    });
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  Object.assign(blocker, { port: actual, url: `ws://127.0.0.1:${actual}` });
  return blocker;
}
