// One benchmark server process: `node bench/server.mjs <stack> [port]`.
// stack: raw | raw-envelope | rxwire | socketio | rxwire-http (the rxwire server with
// `fallback: true`, for clients on the HTTP transport). Talks to the orchestrator over IPC:
//   -> {ready, port}            once listening on 127.0.0.1
//   <- {cmd: 'count'}           -> {count: {frames, messages, connections, broadcasts, appended
//                                  (a clustered rxwire server: broadcasts in the cluster's log),
//                                  waitedMs (fanout: time spent waiting for credit),
//                                  loopActiveMs (event loop running code, not waiting), t}}
//   <- {cmd: 'cpu'}             -> {cpu: user + system CPU time so far, µs, syscalls:
//                                  {reads, writes} so far from /proc/self/io, null off Linux}
//                                  (process.cpuUsage(): getrusage(RUSAGE_SELF), the kernel's
//                                  accounting of this process, every thread of it)
//   <- {cmd: 'fanout', size, credit}  starts broadcasting `tick` messages whose payload is
//                                  `size` bytes of JSON, one per turn, numbered 1, 2, 3 ...,
//                                  while fewer than `credit` have been sent
//   <- {cmd: 'credit', upTo}    the clients have everything up to upTo - credit: sending may go on
//   <- {cmd: 'fanout-stop'}     stops broadcasting
//   <- {cmd: 'mem'}             -> {mem: process.memoryUsage() after GC, plus newSpace}
//   (`ready` carries the same as `baseline`. newSpace: the physical size of V8's young
//   generation, which run.mjs subtracts from RSS: see "idle-memory" in bench/README.md)
//   <- {cmd: 'close'}           graceful close (each stack's own), then exit
// In a cluster (run.mjs sets BENCH_REDIS_URL: see bench/cluster-node.mjs), rxwire joins
// it with rxwire/cluster's redisCluster and Socket.IO with @socket.io/redis-adapter;
// `ready` waits until rxwire's node reaches the store. Then also:
//   <- {cmd: 'cluster-size'}    -> {clusterSize: connected sessions on every node}
//                                  (rxwire: server.presence; Socket.IO: io.fetchSockets())
//   cluster-handover (rxwire, BENCH_HANDOVER=1; also on a single server, without a cluster):
//   every node checks each session's numbered `up` messages;
//   <- {cmd: 'traffic', role, everyMs}  role 'sender': server.sendTo every session of the
//                                  cluster a numbered `down` every everyMs; 'ticker':
//                                  server.broadcast a numbered `tick` every everyMs
//   <- {cmd: 'drain'}           -> {drained: ms until server.drain() resolved} (or null, error)
//   <- {cmd: 'quiet'}           -> {quiet: true} once its traffic stopped and settled
//   <- {cmd: 'handover-report'} -> {report: what it saw and sent (HandoverTraffic.report)}
// Echo: every stack answers a message of type 'echo' with the same payload.
// Audio: every binary frame received is counted (rxwire: each chunk on session.audio$).
// Fanout: each stack's own broadcast (raw: one JSON.stringify, then ws.send to each
// socket; rxwire: server.broadcast; Socket.IO: io.emit).
// Token stream: a request `{n}` is answered with n tokens of 8 bytes, one per turn of
// the event loop (as they would come from an upstream model), then an end marker
// (rxwire: a request handler returning an Observable; raw: one frame per token;
// Socket.IO: one emit per token).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import {
  HandoverTraffic,
  clusterEnv,
  rxwireCluster,
  socketioAdapter,
  stderrLogger,
  untilClusterUp,
} from './cluster-node.mjs';
import { decodeRawEnvelope, encodeRawEnvelope } from './raw-envelope.mjs';
import { tickPayload, streamTokens } from './workloads.mjs';

const require = createRequire(import.meta.url);
// run.mjs points RXWIRE_DIST at a snapshot of dist/cjs; default: the repository's dist/cjs.
const dist = process.env.RXWIRE_DIST ?? new URL('../dist/cjs', import.meta.url).pathname;
const stack = process.argv[2];
const wantedPort = Number(process.argv[3] ?? 0);

let frames = 0;
let messages = 0;
let connections = 0;
let upgrades = 0;
let httpSessions = 0;
let close = async () => {};
/** The stack's broadcast, set by its start function (fanout). */
let broadcast = () => {};
/** Connected sessions of the whole cluster (one server: this one's). */
let clusterSize = async () => connections;
/** A clustered rxwire server's broadcasts appended to the cluster's log so far (null otherwise). */
let appended = () => null;
/** cluster-handover's traffic (bench/cluster-node.mjs), and a clustered server's drain. */
let handover = null;
let drain = async () => {};
const cluster = clusterEnv();

function listenHttp(http) {
  http.on('upgrade', () => upgrades++);
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(wantedPort, '127.0.0.1', () => resolve(http.address().port));
  });
}

/** Graceful close of a plain `ws` server: 1001 to every client, then the HTTP server. */
async function closeWs(wss, http) {
  for (const ws of wss.clients) ws.close(1001);
  await new Promise((r) => wss.close(r));
  http.closeAllConnections?.();
  await new Promise((r) => http.close(r));
}

async function startRaw() {
  const { WebSocketServer } = require('ws');
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    connections++;
    ws.on('close', () => connections--);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        frames++;
        return;
      }
      messages++;
      const msg = JSON.parse(data.toString());
      if (msg.type === 'echo') ws.send(JSON.stringify({ type: 'echo', payload: msg.payload }));
      else if (msg.type === 'tokens') {
        const { id } = msg;
        streamTokens(
          msg.n,
          (token) => ws.send(JSON.stringify({ id, token })),
          () => ws.send(JSON.stringify({ id, done: true })),
        );
      }
    });
  });
  broadcast = (payload) => {
    const text = JSON.stringify({ type: 'tick', payload });
    for (const ws of wss.clients) ws.send(text);
  };
  close = () => closeWs(wss, http);
  return listenHttp(http);
}

async function startRxwire(extra = {}) {
  const { createServer } = require(`${dist}/server/index.js`);
  const { Observable } = require('rxjs');
  const http = createHttpServer();
  const log = cluster === null ? null : stderrLogger(`rxwire node ${process.pid}`);
  const clustered =
    cluster === null ? {} : { cluster: rxwireCluster(dist, cluster), logger: log.logger };
  const server = createServer({ server: http, rateLimit: false, ...clustered, ...extra });
  if (cluster !== null) {
    clusterSize = async () => server.presence.filter((p) => p.connected).length;
    drain = () => server.drain();
    appended = () => server.cluster.broadcasts;
  }
  if (process.env.BENCH_HANDOVER === '1') handover = new HandoverTraffic(server, log?.counts);
  server.sessions$.subscribe((s) => {
    handover?.watch(s);
    connections++;
    if (s.transport === 'http') httpSessions++;
    s.closed$.subscribe(() => connections--);
    s.on('echo').subscribe((payload) => {
      messages++;
      s.send('echo', payload);
    });
    s.audio$.subscribe(() => frames++);
  });
  server.handle(
    'tokens',
    ({ n }) =>
      new Observable((subscriber) =>
        streamTokens(
          n,
          (token) => subscriber.next(token),
          () => subscriber.complete(),
        ),
      ),
  );
  broadcast = (payload) => server.broadcast('tick', payload);
  close = async () => {
    await server.close();
    await new Promise((r) => http.close(r));
  };
  const port = await listenHttp(http);
  if (cluster !== null) await untilClusterUp(server);
  return port;
}

async function startSocketio() {
  const { Server } = require('socket.io');
  const http = createHttpServer();
  const io = new Server(http, { perMessageDeflate: false, serveClient: false });
  const redis = cluster === null ? null : await socketioAdapter(cluster);
  if (redis !== null) {
    io.adapter(redis.adapter);
    clusterSize = async () => (await io.fetchSockets()).length;
  }
  io.on('connection', (socket) => {
    connections++;
    socket.on('disconnect', () => connections--);
    socket.on('echo', (payload) => {
      messages++;
      socket.emit('echo', payload);
    });
    socket.on('audio', () => frames++);
    socket.on('tokens', (id, n) => {
      streamTokens(
        n,
        (token) => socket.emit('token', id, token),
        () => socket.emit('done', id),
      );
    });
  });
  broadcast = (payload) => io.emit('tick', payload);
  close = async () => {
    await new Promise((r) => io.close(r));
    await redis?.close();
  };
  return listenHttp(http);
}

// Raw ws answering in rxwire's envelope (see rawEnvelopeConn in client.mjs).
async function startRawEnvelope() {
  const { WebSocketServer } = require('ws');
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    connections++;
    let n = 0;
    let seq = 0;
    let received = 0;
    ws.on('close', () => connections--);
    ws.on('message', (data) => {
      messages++;
      const msg = decodeRawEnvelope(data, received);
      received = msg.seq;
      if (msg.type === 'echo')
        ws.send(encodeRawEnvelope('echo', `s.${(++n).toString(36)}`, ++seq, received, msg.payload));
    });
  });
  close = () => closeWs(wss, http);
  return listenHttp(http);
}

const starts = {
  'raw-envelope': startRawEnvelope,
  raw: startRaw,
  rxwire: () => startRxwire(),
  socketio: startSocketio,
  'rxwire-http': () => startRxwire({ fallback: true }),
};
if (!starts[stack]) {
  console.error(`unknown stack ${stack}`);
  process.exit(2);
}

/** Read and write system calls so far ({reads, writes}, /proc/self/io), or null off Linux. */
function syscalls() {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const field = (name) => Number(io.match(new RegExp(`^${name}: (\\d+)$`, 'm'))?.[1]);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return null;
  }
}

async function memory() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await sleep(100);
  }
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { ...process.memoryUsage(), newSpace: newSpace?.physical_space_size ?? 0 };
}

// Fanout: one broadcast per turn of the event loop while the orchestrator's credit
// allows (it relays how far every client has got), so nothing queues without bound.
const fanout = { running: false, size: 0, sent: 0, credit: 0, waitedMs: 0, waitingSince: 0 };
function pump() {
  if (!fanout.running) return;
  if (fanout.sent >= fanout.credit) {
    fanout.waitingSince = performance.now();
    return;
  }
  fanout.sent += 1;
  broadcast(tickPayload(fanout.sent, fanout.size));
  setImmediate(pump);
}
function grant(upTo) {
  if (upTo <= fanout.credit) return;
  fanout.credit = upTo;
  if (fanout.waitingSince > 0) {
    fanout.waitedMs += performance.now() - fanout.waitingSince;
    fanout.waitingSince = 0;
    setImmediate(pump);
  }
}

const port = await starts[stack]();
const baseline = await memory();
process.send({ ready: true, port, baseline });

process.on('message', async (msg) => {
  if (msg.cmd === 'count') {
    const now = performance.now();
    const waitedMs = fanout.waitedMs + (fanout.waitingSince > 0 ? now - fanout.waitingSince : 0);
    process.send({
      count: {
        frames,
        messages,
        connections,
        upgrades,
        httpSessions,
        broadcasts: fanout.sent,
        appended: appended(),
        waitedMs,
        // Event loop time spent running code (not waiting for I/O or timers), ms.
        loopActiveMs: performance.eventLoopUtilization().active,
        t: now,
      },
    });
  } else if (msg.cmd === 'cpu') {
    const cpu = process.cpuUsage();
    process.send({ cpu: cpu.user + cpu.system, syscalls: syscalls() });
  } else if (msg.cmd === 'fanout') {
    Object.assign(fanout, { running: true, size: msg.size, sent: 0, credit: msg.credit });
    setImmediate(pump);
  } else if (msg.cmd === 'credit') {
    grant(msg.upTo);
  } else if (msg.cmd === 'fanout-stop') {
    fanout.running = false;
  } else if (msg.cmd === 'cluster-size') {
    process.send({ clusterSize: await clusterSize() });
  } else if (msg.cmd === 'traffic') {
    handover.start(msg.role, msg.everyMs);
  } else if (msg.cmd === 'drain') {
    const t = performance.now();
    try {
      await drain();
      process.send({ drained: performance.now() - t });
    } catch (error) {
      process.send({ drained: null, error: `${error.code ?? ''} ${error.message}` });
    }
  } else if (msg.cmd === 'quiet') {
    await handover.quiet();
    process.send({ quiet: true });
  } else if (msg.cmd === 'handover-report') {
    process.send({ report: handover.report() });
  } else if (msg.cmd === 'mem') {
    process.send({ mem: await memory(), connections });
  } else if (msg.cmd === 'close') {
    const t = Date.now();
    await Promise.race([close(), sleep(8000)]);
    process.send({ closed: true, t });
    process.disconnect();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
