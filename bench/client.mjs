// One load-generator process: `node bench/client.mjs <stack> <port> <json params>`.
// The same design for every stack; only the adapter (connect/send/on) differs.
// Talks to the orchestrator over IPC (see run.mjs for the sequence per scenario).
import { createRequire } from 'node:module';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { decodeRawEnvelope, encodeRawEnvelope } from './raw-envelope.mjs';
import { percentile } from './stats.mjs';
import { token } from './workloads.mjs';

const require = createRequire(import.meta.url);
// run.mjs points RXWIRE_DIST at a snapshot of dist/cjs; default: the repository's dist/cjs.
const dist = process.env.RXWIRE_DIST ?? new URL('../dist/cjs', import.meta.url).pathname;
const WebSocket = require('ws');
const [stack, portArg, paramsArg] = process.argv.slice(2);
const params = JSON.parse(paramsArg ?? '{}');
// Connections go to `params.ports` in turn (several server processes), else to <port>.
const ports = params.ports ?? [Number(portArg)];
let portTurn = 0;
const pickPort = () => ports[portTurn++ % ports.length];
const inbox = [];
let wake = null;
process.on('message', (msg) => {
  inbox.push(msg);
  wake?.();
});
process.on('disconnect', () => process.exit(0));

// One waiter at a time: the next orchestrator message with cmd `name` (any when null).
async function command(name = null) {
  for (;;) {
    const i = inbox.findIndex((m) => name === null || m.cmd === name);
    if (i >= 0) return inbox.splice(i, 1)[0];
    await new Promise((r) => (wake = r));
  }
}

const AUDIO_SAMPLES = 320; // 640 bytes of PCM16: 20 ms of 16 kHz mono

// ---------------------------------------------------------------- adapters
// Each returns {ready: Promise, send(payload), onEcho(cb), sendAudio(seq),
// buffered(): bytes waiting in the client, onTick(cb) for broadcasts,
// request(n, onToken, onDone) for a token stream, close(), state for the storm}.

function rawConn() {
  const frame = frameFor();
  const ws = new WebSocket(`ws://127.0.0.1:${pickPort()}/ws`, { perMessageDeflate: false });
  let echo = () => {};
  let tick = () => {};
  let stream = null;
  let requests = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString());
    if (msg.type === 'echo') echo(msg.payload);
    else if (msg.type === 'tick') tick(msg.payload);
    else if (stream !== null && msg.id === stream.id) {
      if (msg.done === true) {
        const { onDone } = stream;
        stream = null;
        onDone();
      } else stream.onToken(msg.token);
    }
  });
  return {
    ready: new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
    send: (payload) => ws.send(JSON.stringify({ type: 'echo', payload })),
    onEcho: (cb) => (echo = cb),
    onTick: (cb) => (tick = cb),
    request: (n, onToken, onDone) => {
      stream = { id: `r${++requests}`, onToken, onDone };
      ws.send(JSON.stringify({ type: 'tokens', id: stream.id, n }));
    },
    sendAudio: () => ws.send(frame),
    buffered: () => ws.bufferedAmount,
    close: () => ws.terminate(),
  };
}

function rxwireConn(extra = {}) {
  const { createClient } = require(`${dist}/src/index.js`);
  const holder = { ws: null, attempts: [] };
  class TrackedWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { perMessageDeflate: false });
      holder.ws = this;
      holder.attempts.push(Date.now());
    }
  }
  const client = createClient({
    url: `ws://127.0.0.1:${pickPort()}/ws`,
    WebSocketCtor: TrackedWebSocket,
    ...extra,
  });
  const samples = new Int16Array(AUDIO_SAMPLES);
  const conn = {
    holder,
    status: 'idle',
    connectedAt: [],
    send: (payload) => client.send('echo', payload),
    onEcho: (cb) => client.on('echo').subscribe(cb),
    onTick: (cb) => client.on('tick').subscribe(cb),
    request: (n, onToken, onDone) =>
      client.request('tokens', { n }).subscribe({ next: onToken, complete: onDone }),
    sendAudio: (seq) =>
      client.audio.next({ samples, sampleRate: 16000, channels: 1, seq, timestamp: Date.now() }),
    buffered: () => holder.ws?.bufferedAmount ?? 0,
    // Read once at the end (audioStats$ replays the current value), so the bench
    // adds no per-frame subscriber work to rxwire's client.
    dropped: () => {
      let n = 0;
      client.audioStats$
        .subscribe((s) => (n = s.droppedBackpressure + s.droppedOffline))
        .unsubscribe();
      return n;
    },
    close: () => client.disconnect(),
  };
  conn.ready = new Promise((resolve, reject) => {
    client.state$.subscribe((s) => {
      if (s.status === 'connected' && conn.status !== 'connected')
        conn.connectedAt.push(Date.now());
      conn.status = s.status;
      conn.transport = s.transport;
      if (s.status === 'connected') resolve();
      if (s.status === 'error') reject(new Error('rxwire client gave up'));
    });
  });
  client.connect();
  return conn;
}

function socketioConn() {
  const { io } = require('socket.io-client');
  const socket = io(`http://127.0.0.1:${pickPort()}`, {
    transports: ['websocket'],
    perMessageDeflate: false,
    forceNew: true, // one connection per client (io() would multiplex them all on one)
  });
  let requests = 0;
  let stream = null;
  socket.on('token', (id, value) => {
    if (stream !== null && id === stream.id) stream.onToken(value);
  });
  socket.on('done', (id) => {
    if (stream === null || id !== stream.id) return;
    const { onDone } = stream;
    stream = null;
    onDone();
  });
  const conn = {
    holder: { attempts: [Date.now()] },
    status: 'connecting',
    connectedAt: [],
    send: (payload) => socket.emit('echo', payload),
    onEcho: (cb) => socket.on('echo', cb),
    onTick: (cb) => socket.on('tick', cb),
    request: (n, onToken, onDone) => {
      const id = `r${++requests}`;
      stream = { id, onToken, onDone };
      socket.emit('tokens', id, n);
    },
    sendAudio: (seq) => socket.emit('audio', frameFor(seq)),
    buffered: () => {
      const engine = socket.io.engine;
      let n = engine?.transport?.ws?.bufferedAmount ?? 0;
      for (const p of engine?.writeBuffer ?? []) n += p.data?.byteLength ?? p.data?.length ?? 0;
      return n;
    },
    close: () => socket.disconnect(),
  };
  socket.io.on('reconnect_attempt', () => conn.holder.attempts.push(Date.now()));
  socket.io.on('reconnect_failed', () => (conn.status = 'error'));
  socket.on('disconnect', () => (conn.status = 'reconnecting'));
  conn.ready = new Promise((resolve) => {
    socket.on('connect', () => {
      conn.status = 'connected';
      conn.connectedAt.push(Date.now());
      resolve();
    });
  });
  return conn;
}

let audioFrame = null;
function frameFor() {
  if (audioFrame === null) {
    const { encodeAudioFrame } = require(`${dist}/src/protocol/index.js`);
    audioFrame = Buffer.from(
      encodeAudioFrame({
        samples: new Int16Array(AUDIO_SAMPLES),
        sampleRate: 16000,
        channels: 1,
        seq: 0,
        timestamp: Date.now(),
      }),
    );
  }
  return audioFrame;
}

// rxwire's HTTP fallback transport: an SSE stream down and batched POSTs up, over
// Node's global fetch (undici's keep-alive pool); no WebSocket at all.
const rxwireHttpConn = () => rxwireConn({ transports: ['http'] });

// Raw ws speaking rxwire's wire format (envelope with id, seq, ack and an ISO
// timestamp; checked on receipt) with no library: what the envelope itself
// costs. Echo only; used by envelope-cost.mjs, not by the main table.
function rawEnvelopeConn() {
  const ws = new WebSocket(`ws://127.0.0.1:${pickPort()}/ws`, { perMessageDeflate: false });
  const prefix = Math.floor(Math.random() * 0x7fffffff).toString(36);
  let echo = () => {};
  let n = 0;
  let seq = 0;
  let received = 0;
  ws.on('message', (data) => {
    const msg = decodeRawEnvelope(data, received);
    received = msg.seq;
    if (msg.type === 'echo') echo(msg.payload);
  });
  return {
    ready: new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
    send: (payload) =>
      ws.send(
        encodeRawEnvelope('echo', `${prefix}.${(++n).toString(36)}`, ++seq, received, payload),
      ),
    onEcho: (cb) => (echo = cb),
    close: () => ws.terminate(),
  };
}

const adapters = {
  'raw-envelope': rawEnvelopeConn,
  raw: rawConn,
  rxwire: () => rxwireConn(),
  socketio: socketioConn,
  'rxwire-http': rxwireHttpConn,
};

async function openMany(n, make, batch = 100) {
  const conns = [];
  for (let i = 0; i < n; i += batch) {
    const group = [];
    for (let j = i; j < Math.min(n, i + batch); j++) group.push(make());
    await Promise.all(group.map((c) => c.ready));
    conns.push(...group);
  }
  return conns;
}

// ---------------------------------------------------------------- scenarios

async function echo() {
  const conns = await openMany(params.connections, adapters[stack]);
  // Which transport each rxwire connection ended up on (run.mjs checks the http column is http).
  const transports = [...new Set(conns.map((c) => c.transport).filter(Boolean))];
  const payload = 'x'.repeat(params.size);
  let measuring = false;
  let stopping = false;
  const rtts = new Float64Array(5_000_000);
  let count = 0;
  let running = conns.length;
  let done;
  const finished = new Promise((r) => (done = r));
  for (const c of conns) {
    let sentAt = 0;
    c.onEcho(() => {
      if (measuring && count < rtts.length) rtts[count++] = performance.now() - sentAt;
      if (stopping) {
        if (--running === 0) done();
        return;
      }
      sentAt = performance.now();
      c.send(payload);
    });
    sentAt = performance.now();
    c.send(payload);
  }
  await sleep(params.warmMs);
  measuring = true;
  const t0 = performance.now();
  process.send({ measuring: true }); // run.mjs reads the server's CPU time now and at `measured`
  await sleep(params.timedMs);
  measuring = false;
  process.send({ measured: true });
  const seconds = (performance.now() - t0) / 1000;
  const n = count;
  stopping = true;
  await Promise.race([finished, sleep(2000)]);
  const sorted = Array.from(rtts.subarray(0, n)).sort((a, b) => a - b);
  process.send({
    result: {
      value: n / seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      roundTrips: n,
      seconds,
      transports,
    },
  });
  for (const c of conns) c.close();
}

async function audio() {
  const conns = await openMany(params.connections, adapters[stack]);
  const WINDOW = params.window; // bytes the client may hold unsent per connection
  const BATCH = 16; // frames per connection per loop turn, so all connections get turns
  let stop = false;
  let seq = 0;
  let sent = 0;
  command('stop').then(() => (stop = true));
  process.send({ flooding: true });
  // Same loop for every stack: top each connection up to WINDOW buffered bytes,
  // yield to the event loop, and back off 1 ms when every connection is full.
  while (!stop) {
    let any = false;
    for (const c of conns) {
      for (let k = 0; k < BATCH && c.buffered() < WINDOW; k++) {
        c.sendAudio(seq++ >>> 0);
        sent++;
        any = true;
      }
    }
    if (any) await tick();
    else await sleep(1);
  }
  const dropped = conns.reduce((n, c) => n + (c.dropped?.() ?? 0), 0);
  process.send({ result: { sent, dropped } });
  for (const c of conns) c.close();
}

async function idle() {
  const conns = await openMany(params.connections, adapters[stack], 200);
  process.send({ connected: conns.length });
  await command('stop');
  for (const c of conns) c.close();
  process.send({ result: {} });
}

async function storm() {
  const make =
    stack === 'rxwire'
      ? () =>
          rxwireConn(params.jitter === undefined ? {} : { reconnect: { jitter: params.jitter } })
      : adapters[stack];
  const conns = await openMany(params.connections, make, 100);
  process.send({ connected: conns.length });
  for (;;) {
    const msg = await command();
    if (msg.cmd === 'status') {
      const since = msg.since;
      let connected = 0;
      let gaveUp = 0;
      for (const c of conns) {
        if (c.status === 'error') gaveUp++;
        else if (c.status === 'connected' && c.connectedAt.at(-1) > since) connected++;
      }
      process.send({ status: { connected, gaveUp, total: conns.length } });
      continue;
    }
    const since = msg.since;
    const attempts = [];
    let last = 0;
    for (const c of conns) {
      for (const t of c.holder.attempts) if (t >= since) attempts.push(t);
      const t = c.connectedAt.at(-1);
      if (t > since && t > last) last = t;
    }
    process.send({ result: { attempts, lastConnected: last } });
    for (const c of conns) c.close();
    break;
  }
}

// Broadcasts: count every delivery, check that each connection gets 1, 2, 3 ...
// (nothing lost, repeated or out of order), and tell run.mjs each time every
// connection of this process has reached a multiple of `every` (run.mjs turns
// that into credit for the server, which bounds what is in flight).
async function fanout() {
  const conns = await openMany(params.connections, adapters[stack]);
  const { every } = params;
  const reached = new Map(); // checkpoint -> connections that have it
  let deliveries = 0;
  // Set before the result goes out: run.mjs disconnects after it, and broadcasts
  // still arriving then must not report progress on a closed channel (EPIPE).
  let stopped = false;
  for (const c of conns) {
    let last = 0;
    c.onTick((payload) => {
      const { n } = payload;
      if (n !== last + 1) fail(`broadcast ${n} arrived after ${last}`);
      last = n;
      deliveries += 1;
      if (n % every !== 0) return;
      const k = (reached.get(n) ?? 0) + 1;
      if (k < conns.length) reached.set(n, k);
      else {
        reached.delete(n);
        if (!stopped) process.send({ reached: n });
      }
    });
  }
  process.send({ connected: conns.length });
  while ((await command()).cmd === 'count') {
    const cpu = process.cpuUsage();
    process.send({ count: { deliveries, cpu: cpu.user + cpu.system } });
  }
  stopped = true;
  process.send({ result: { deliveries } });
  for (const c of conns) c.close();
}

// Request streams: every connection runs one request of `tokens` tokens at a
// time, back to back. Counts the tokens received in the timed window and the
// time from sending each request to its last token.
async function tokens() {
  const conns = await openMany(params.connections, adapters[stack]);
  const n = params.tokens;
  let measuring = false;
  let stopping = false;
  let received = 0;
  const lastTokenMs = [];
  let running = conns.length;
  let done;
  const finished = new Promise((r) => (done = r));
  for (const c of conns) {
    const run = () => {
      const sentAt = performance.now();
      let got = 0;
      let lastAt = 0;
      c.request(
        n,
        (value) => {
          if (value !== token(got)) fail(`token ${got} was ${JSON.stringify(value)}`);
          got += 1;
          lastAt = performance.now();
          if (measuring) received += 1;
        },
        () => {
          if (got !== n) fail(`a request ended after ${got} of ${n} tokens`);
          // Latency: every request whose last token came inside the window.
          if (measuring) lastTokenMs.push(lastAt - sentAt);
          if (stopping) {
            if (--running === 0) done();
          } else run();
        },
      );
    };
    run();
  }
  await sleep(params.warmMs);
  measuring = true;
  const t0 = performance.now();
  process.send({ measuring: true });
  await sleep(params.timedMs);
  measuring = false;
  process.send({ measured: true });
  const seconds = (performance.now() - t0) / 1000;
  const count = received;
  stopping = true;
  await Promise.race([finished, sleep(10_000)]);
  const sorted = lastTokenMs.sort((a, b) => a - b);
  process.send({
    result: {
      value: count / seconds,
      tokens: count,
      seconds,
      requests: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    },
  });
  for (const c of conns) c.close();
}

function fail(message) {
  console.error(`client.mjs ${stack}: ${message}`);
  process.exit(1);
}

// Echo in windows on command, for ab.mjs: the connections stay open and idle
// between windows. Each {cmd: 'window', ms} runs the echo loop for `ms` and
// answers {window: {roundTrips, seconds, cpu}} (cpu: this process's µs); any
// other command closes the connections (the process exits when ab.mjs does).
async function echoWindows() {
  const conns = await openMany(params.connections, adapters[stack]);
  const payload = 'x'.repeat(params.size);
  let running = false;
  let count = 0;
  let inflight = 0;
  let drained = () => {};
  for (const c of conns) {
    c.onEcho(() => {
      count++;
      if (running) c.send(payload);
      else if (--inflight === 0) drained();
    });
  }
  process.send({ connected: conns.length });
  for (;;) {
    const msg = await command();
    if (msg.cmd !== 'window') break;
    count = 0;
    inflight = conns.length;
    running = true;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const c of conns) c.send(payload);
    await sleep(msg.ms);
    const roundTrips = count;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    running = false;
    await Promise.race([new Promise((r) => (drained = r)), sleep(2000)]);
    process.send({ window: { roundTrips, seconds, cpu: cpu.user + cpu.system } });
  }
  for (const c of conns) c.close();
}

const scenarios = { echo, echoWindows, audio, idle, storm, fanout, tokens };
await scenarios[params.scenario]();
await sleep(50);
process.disconnect();
process.exit(0);
