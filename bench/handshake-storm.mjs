// How the handshake bound (`maxHandshakes`) meets a reconnect storm:
//   npm run build && node bench/handshake-storm.mjs [clients=2000] [maxHandshakes=default]
// A server process on 127.0.0.1 (rxwire's defaults, no heartbeat) and, in this
// process, `clients` rxwire clients (default reconnect: jitter 0.5, 5 retries)
// that start within 0.5-1 s, as they do on the first retry after a drop.
// Prints one JSON line: the time until every client is connected, how many
// gave up, how many attempts were refused with 503, and the server's peak of
// handshakes in progress (read right after each upgrade is admitted).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = process.env.RXWIRE_DIST ?? new URL('../dist/cjs', import.meta.url).pathname;

if (process.argv[2] === '--server') {
  const { createServer } = require(`${dist}/server/index.js`);
  const max = process.argv[3];
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    heartbeat: false,
    ...(max !== undefined && max !== 'default' ? { maxHandshakes: Number(max) } : {}),
  });
  let peak = 0;
  server.httpServer.on('upgrade', () => {
    peak = Math.max(peak, server.limits.handshakes);
  });
  server.ready().then(({ port }) => process.send({ port }));
  process.on('message', async (m) => {
    if (m === 'report') process.send({ peak, limits: server.limits });
    if (m === 'stop') {
      await server.close();
      process.exit(0);
    }
  });
} else {
  const { WebSocket } = require('ws');
  const { createClient } = require(`${dist}/src/index.js`);
  const clients = Number(process.argv[2] ?? 2000);
  const max = process.argv[3] ?? 'default';
  const child = fork(fileURLToPath(import.meta.url), ['--server', max]);
  child.once('message', ({ port }) => {
    const start = Date.now();
    let connected = 0;
    let gaveUp = 0;
    let refusedAttempts = 0;
    let lastConnected = start;
    const all = [];
    const settle = () => {
      if (connected + gaveUp < clients) return;
      child.send('report');
      child.once('message', ({ peak, limits }) => {
        console.log(
          JSON.stringify({
            clients,
            maxHandshakes: max,
            allConnectedMs: lastConnected - start,
            connected,
            gaveUp,
            refusedAttempts,
            peakHandshakes: peak,
            refused: limits.refused.maxHandshakes,
          }),
        );
        for (const client of all) client.dispose();
        child.send('stop');
      });
    };
    for (let i = 0; i < clients; i++) {
      setTimeout(
        () => {
          const client = createClient({
            url: `ws://127.0.0.1:${port}/ws`,
            WebSocketCtor: WebSocket,
            heartbeat: false,
          });
          all.push(client);
          let done = false;
          client.state$.subscribe((s) => {
            if (s.status === 'reconnecting' && s.retryInMs !== undefined) {
              if (s.lastClose?.httpStatus === 503) refusedAttempts++;
            }
            if (done) return;
            if (s.status === 'connected') {
              done = true;
              connected++;
              lastConnected = Date.now();
              settle();
            } else if (s.status === 'error') {
              done = true;
              gaveUp++;
              settle();
            }
          });
          client.connect();
        },
        500 + Math.random() * 500,
      );
    }
  });
}
