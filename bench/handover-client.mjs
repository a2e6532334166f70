// One load generator of cluster-handover: `node bench/handover-client.mjs <json params>`.
// params: {ports, connections, everyMs, jitter?}. rxwire clients only.
//
// Each client is given the nodes' URLs as a list, the node its sessions start
// on first (ports[0]), the others after it in a per-client rotation, and every
// connection attempt takes the next URL of the list (its `WebSocketCtor`
// rewrites the port): so after the first node drains, a client's next attempt
// goes straight to another node, as a client with a list of servers (or a
// round-robin balancer) would. There is no proxy in between.
//
// Talks to run.mjs over IPC:
//   -> {connected}                 every client connected (to ports[0])
//   <- {cmd: 'traffic'}            each client sends a numbered `up` every everyMs, and one
//                                  more as soon as its connection drops (into its offline queue)
//   <- {cmd: 'cut'}                terminates every client's socket at once (each reconnects)
//   <- {cmd: 'status'}             -> {status: {moved, resumed, gaveUp, total}}: clients
//                                  connected again after their first connection
//   <- {cmd: 'cpu'}                -> {cpu: this process's CPU time so far, µs}
//   <- {cmd: 'quiet'}              stop sending -> {quiet: true}
//   <- {cmd: 'report'}             -> {report: [{sid, upSent, down, tick, attempts, moves}]} per
//                                  client (attempts: WebSocket connections it opened),
//                                  moves: each later connection's {resumed, ms, port}
//   <- {cmd: 'stop'}               disconnects every client and exits
// Every client checks that its `down` and `tick` messages arrive 1, 2, 3 ... (nothing
// lost, repeated or out of order); a break ends the process with an error.
// `ms` is the connection's hello→welcome round trip: the first value `latency$` emits
// on a connection is the time from sending `$hello` to receiving `$welcome`.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const dist = process.env.RXWIRE_DIST ?? new URL('../dist/cjs', import.meta.url).pathname;
const WebSocket = require('ws');
const { createClient } = require(`${dist}/src/index.js`);
const params = JSON.parse(process.argv[2] ?? '{}');
const { ports, everyMs } = params;
let trafficOn = false;

function fail(message) {
  console.error(`handover-client.mjs: ${message}`);
  process.exit(1);
}

function handoverClient(j) {
  // This client's URL list: the first node, then the others rotated by j.
  const others = ports.slice(1);
  const k = others.length === 0 ? 0 : j % others.length;
  const list = [ports[0], ...others.slice(k), ...others.slice(0, k)];
  const c = { sid: null, upSent: 0, down: 0, tick: 0, sessions: [], attempts: 0, port: 0 };
  class ListWebSocket extends WebSocket {
    constructor(url, protocols) {
      const port = list[c.attempts++ % list.length];
      c.port = port;
      super(url.replace(/:\d+\//, `:${port}/`), protocols, { perMessageDeflate: false });
      c.socket = this;
    }
  }
  const client = createClient({
    url: `ws://127.0.0.1:${ports[0]}/ws`,
    WebSocketCtor: ListWebSocket,
    ...(params.jitter === undefined ? {} : { reconnect: { jitter: params.jitter } }),
  });
  let rtt = null;
  // latency$ emits the hello→welcome time of a connection just before sessions$ emits it.
  client.latency$.subscribe((ms) => (rtt = ms));
  client.sessions$.subscribe(({ sessionId, resumed }) => {
    c.sid ??= sessionId;
    c.sessions.push({ sessionId, resumed, ms: rtt, port: c.port });
  });
  client.on('down').subscribe(({ n }) => {
    if (n !== c.down + 1) fail(`${c.sid}: down ${n} arrived after ${c.down}`);
    c.down = n;
  });
  client.on('tick').subscribe(({ n }) => {
    if (n !== c.tick + 1) fail(`${c.sid}: tick ${n} arrived after ${c.tick}`);
    c.tick = n;
  });
  c.ready = new Promise((resolve) => {
    client.state$.subscribe((s) => {
      // Once the traffic runs, a dropped connection sends one `up` at once: every
      // session then has a message in its offline queue across the move.
      const dropped = c.status === 'connected' && s.status !== 'connected';
      c.status = s.status; // before send(), which emits state$ again
      if (dropped && trafficOn) c.send();
      if (s.status === 'connected') resolve();
    });
  });
  c.send = () => client.send('up', { n: ++c.upSent });
  c.close = () => client.disconnect();
  client.connect();
  return c;
}

const conns = [];
for (let i = 0; i < params.connections; i += 100) {
  const group = [];
  for (let j = i; j < Math.min(params.connections, i + 100); j++) group.push(handoverClient(j));
  await Promise.all(group.map((c) => c.ready));
  conns.push(...group);
}
process.send({ connected: conns.length });

const inbox = [];
let wake = null;
process.on('message', (msg) => {
  inbox.push(msg);
  wake?.();
});
process.on('disconnect', () => process.exit(0));
async function command() {
  while (inbox.length === 0) await new Promise((r) => (wake = r));
  return inbox.shift();
}

const timers = [];
for (;;) {
  const { cmd } = await command();
  if (cmd === 'traffic') {
    trafficOn = true;
    for (const c of conns) {
      // Spread the clients over the interval instead of sending all at once.
      const start = setTimeout(
        () => timers.push(setInterval(c.send, everyMs)),
        Math.random() * everyMs,
      );
      timers.push(start);
    }
  } else if (cmd === 'cut') {
    // Every connection lost at once (as when a network path fails): each client
    // sees its socket close (1006) and resumes, as after a drain.
    for (const c of conns) c.socket.terminate();
  } else if (cmd === 'status') {
    const moved = conns.filter((c) => c.sessions.length > 1);
    process.send({
      status: {
        moved: moved.length,
        resumed: moved.filter((c) => c.sessions.at(-1).resumed).length,
        gaveUp: conns.filter((c) => c.status === 'error').length,
        total: conns.length,
      },
    });
  } else if (cmd === 'cpu') {
    const cpu = process.cpuUsage();
    process.send({ cpu: cpu.user + cpu.system });
  } else if (cmd === 'quiet') {
    trafficOn = false;
    for (const t of timers) clearTimeout(t);
    process.send({ quiet: true });
  } else if (cmd === 'report') {
    process.send({
      report: conns.map((c) => ({
        sid: c.sid,
        upSent: c.upSent,
        down: c.down,
        tick: c.tick,
        attempts: c.attempts,
        moves: c.sessions.slice(1).map(({ resumed, ms, port }) => ({ resumed, ms, port })),
      })),
    });
  } else break;
}
for (const c of conns) c.close();
await sleep(50);
process.disconnect();
process.exit(0);
