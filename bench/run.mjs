// rxwire benchmarks: raw ws vs rxwire vs Socket.IO, one harness for all three, plus,
// in the echo scenarios, raw ws speaking rxwire's envelope by hand (raw-envelope) and
// rxwire over its HTTP fallback transport (rxwire-http).
//   npm run bench               5 timed runs per stack, alternated (a few minutes)
//   npm run bench -- --quick    1 timed run per stack, shorter windows (< 60 s on 2 cores)
//   npm run bench -- --full     as the default, with 10,000 idle sessions instead of 5,000
//   npm run bench -- --only=echo-64B,audio-flood   a subset of scenarios
//   npm run bench -- --runs=11  more timed runs per stack (tighter medians on a noisy machine)
//   npm run bench -- --only=cluster --dist=<a build with rxwire/cluster> --out=<file>
// Server and load generator are separate processes (bench/server.mjs, bench/client.mjs;
// bench/processes.mjs starts them) on 127.0.0.1, port 0 passed over IPC. The cluster
// scenarios (bench/cluster.mjs) run several servers on a private redis-server. Writes
// bench/results.json (or --out=) and prints one table (bench/table.mjs, which also renders
// it for the READMEs).
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { fdLimit, per, serverCpuDuring, startClient, startServer } from './processes.mjs';
import { clusterBroadcastRun, handoverRun, hasCluster } from './cluster.mjs';
import { fanoutRun } from './fanout.mjs';
import { median } from './stats.mjs';
import { formatTable } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const full = args.includes('--full');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const onlyStacks = args
  .find((a) => a.startsWith('--stacks='))
  ?.slice(9)
  .split(',');
// --out=<file> writes the results there instead of bench/results.json (a partial run
// then leaves the full run's results in place).
const outArg = args.find((a) => a.startsWith('--out='))?.slice(6);
// --handover-sessions=<n> moves n sessions in cluster-handover instead of 1,000 (where
// its p99 starts to grow with the sessions moving at once).
const handoverArg = args.find((a) => a.startsWith('--handover-sessions='))?.slice(20);
if (handoverArg !== undefined && !/^[1-9][0-9]*$/.test(handoverArg)) {
  console.error(`--handover-sessions must be a positive integer (got '${handoverArg}')`);
  process.exit(2);
}
const runsArg = args.find((a) => a.startsWith('--runs='))?.slice(7);
if (runsArg !== undefined && !/^[1-9][0-9]*$/.test(runsArg)) {
  console.error(`--runs must be a positive integer (got '${runsArg}')`);
  process.exit(2);
}

const cfg = {
  runs: runsArg !== undefined ? Number(runsArg) : quick ? 1 : 5,
  // rxwire's client and server reach their steady rate after about 2.5 s of
  // load (TurboFan has more functions to compile than for raw ws, which is
  // steady within 0.5 s): see "Warm-up" in bench/README.md.
  echoWarmMs: quick ? 200 : 3000,
  echoTimedMs: quick ? 700 : 2000,
  audioWarmMs: quick ? 200 : 3000,
  audioTimedMs: quick ? 700 : 2000,
  audioWindow: 8192,
  idleConnections: full ? 10_000 : quick ? 1_000 : 5_000,
  stormClients: quick ? 500 : 2_000,
  stormProcesses: quick ? 1 : 2,
  stormTimeoutMs: 60_000,
  fanoutClients: 1_000,
  fanoutProcesses: 2,
  fanoutSize: 200,
  // Broadcasts in flight at most (sent, not yet at every client), and how often
  // the load generators report how far they have got.
  fanoutCredit: 64,
  fanoutEvery: 8,
  fanoutWarmMs: quick ? 500 : 3000,
  fanoutTimedMs: quick ? 1000 : 2000,
  tokenClients: 32,
  tokensPerRequest: 500,
  tokenWarmMs: quick ? 500 : 3000,
  tokenTimedMs: quick ? 1000 : 3000,
  // cluster-broadcast (fanout's settings above, on this many nodes) and cluster-handover.
  clusterNodes: 3,
  handoverSessions: handoverArg !== undefined ? Number(handoverArg) : 1_000,
  // Load generators of cluster-handover (one when the sessions do not split evenly).
  handoverProcesses: handoverArg !== undefined && Number(handoverArg) % 2 !== 0 ? 1 : 2,
  // Each session sends and gets a numbered message, and a broadcast goes out, this often.
  handoverEveryMs: 1000,
  // Traffic before the drain, and after every session moved (the CPU figures subtract
  // what the traffic costs, at its rate over this second window).
  handoverWarmMs: quick ? 500 : 1500,
  handoverAfterMs: quick ? 500 : 2000,
};
// --stacks=rxwire,raw runs only those stacks (for profiling one of them).
const pick = (stacks) => stacks.filter((s) => !onlyStacks || onlyStacks.includes(s));
const STACKS = pick(['raw', 'rxwire', 'socketio']);
// The echo scenarios also run raw ws speaking rxwire's envelope by hand (the floor for
// this wire format) and rxwire's HTTP fallback transport (SSE down, POSTs up).
const ECHO_STACKS = pick(['raw', 'raw-envelope', 'rxwire', 'socketio', 'rxwire-http']);
const ALL_STACKS = ['raw', 'raw-envelope', 'rxwire', 'socketio', 'rxwire-http'];
const KEY = {
  raw: 'raw_ws',
  'raw-envelope': 'raw_envelope',
  rxwire: 'rxwire',
  socketio: 'socketio',
  'rxwire-http': 'rxwire_http',
};

// ---------------------------------------------------------------- build

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
// --dist=<dir> benchmarks the build in <dir> (a dist/cjs directory, or a dist directory
// holding one, whose tree can resolve rxjs, ws and redis, e.g. of the commit before a
// change, with node_modules linked) instead of building and snapshotting this checkout's.
const distArg = args.find((a) => a.startsWith('--dist='))?.slice(7);
const started = Date.now();
if (distArg !== undefined) {
  const dir = resolve(distArg);
  process.env.RXWIRE_DIST = existsSync(join(dir, 'cjs/server/index.js')) ? join(dir, 'cjs') : dir;
  if (!existsSync(join(process.env.RXWIRE_DIST, 'server/index.js'))) {
    console.error(`--dist: no build in ${process.env.RXWIRE_DIST}`);
    process.exit(2);
  }
} else {
  const built = join(root, 'dist/cjs/src/index.js');
  const builtServer = join(root, 'dist/cjs/server/index.js');
  if (
    !existsSync(built) ||
    !existsSync(builtServer) ||
    statSync(built).mtimeMs < Math.max(newest(join(root, 'src')), newest(join(root, 'server')))
  ) {
    console.log('dist is missing or older than src/ or server/: npm run build');
    try {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    } catch (error) {
      if (!existsSync(built) || !existsSync(builtServer)) throw error;
      console.log('npm run build failed; benchmarking the existing (older) dist');
    }
  }

  // Others may rebuild dist/ while the bench runs: snapshot dist/cjs into a temporary
  // directory (node_modules linked) and benchmark the snapshot.
  async function snapshotDist() {
    for (let i = 0; ; i++) {
      const dir = mkdtempSync(join(os.tmpdir(), 'rxwire-bench-'));
      try {
        cpSync(join(root, 'dist/cjs'), join(dir, 'cjs'), { recursive: true });
        symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
        execFileSync(process.execPath, [
          '-e',
          `require(${JSON.stringify(join(dir, 'cjs/src/index.js'))});require(${JSON.stringify(join(dir, 'cjs/server/index.js'))})`,
        ]);
        return dir;
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        if (i >= 10) throw error;
        console.log('dist/cjs is incomplete (a build in progress?); retrying in 2 s');
        await sleep(2000);
      }
    }
  }
  const distDir = await snapshotDist();
  process.env.RXWIRE_DIST = join(distDir, 'cjs');
  process.on('exit', () => rmSync(distDir, { recursive: true, force: true }));
}

// ---------------------------------------------------------------- scenarios

async function echoRun(stack, size) {
  const server = await startServer(stack);
  const client = startClient(stack, server.port, {
    scenario: 'echo',
    connections: 32,
    size,
    warmMs: cfg.echoWarmMs,
    timedMs: cfg.echoTimedMs,
  });
  const { cpu, reads, writes } = await serverCpuDuring(client, server);
  const { result } = await client.wait('result');
  result.serverCpu = cpu / result.roundTrips;
  result.serverReads = per(reads, result.roundTrips);
  result.serverWrites = per(writes, result.roundTrips);
  const { count } = await server.ask({ cmd: 'count' }, 'count');
  await client.stop();
  await server.stop();
  // The http column must measure the HTTP transport: every session on it, no upgrade.
  if (stack === 'rxwire-http' && (result.transports.join() !== 'http' || count.upgrades > 0)) {
    throw new Error(
      `rxwire-http ran on ${result.transports.join('+')} with ${count.upgrades} upgrades`,
    );
  }
  if (stack === 'rxwire-http' && count.httpSessions < 32) {
    throw new Error(`rxwire-http: the server saw ${count.httpSessions} HTTP sessions, not 32`);
  }
  return result;
}

async function audioRun(stack) {
  const server = await startServer(stack);
  const client = startClient(stack, server.port, {
    scenario: 'audio',
    connections: 200,
    window: cfg.audioWindow,
  });
  await client.wait('flooding');
  await sleep(cfg.audioWarmMs);
  const a = (await server.ask({ cmd: 'count' }, 'count')).count;
  await sleep(cfg.audioTimedMs);
  const b = (await server.ask({ cmd: 'count' }, 'count')).count;
  client.send({ cmd: 'stop' });
  const { result } = await client.wait('result');
  await client.stop();
  await server.stop();
  const value = ((b.frames - a.frames) * 1000) / (b.t - a.t);
  return { value, streams: value / 50, clientDropped: result.dropped, sent: result.sent };
}

// cfg.tokenClients connections, each running requests of cfg.tokensPerRequest tokens
// back to back; the server produces one token per turn of its event loop.
async function tokenRun(stack) {
  const server = await startServer(stack);
  const client = startClient(stack, server.port, {
    scenario: 'tokens',
    connections: cfg.tokenClients,
    tokens: cfg.tokensPerRequest,
    warmMs: cfg.tokenWarmMs,
    timedMs: cfg.tokenTimedMs,
  });
  const { cpu, reads, writes } = await serverCpuDuring(client, server);
  const { result } = await client.wait('result');
  await client.stop();
  await server.stop();
  return {
    ...result,
    serverCpu: cpu / result.tokens,
    serverReads: per(reads, result.tokens),
    serverWrites: per(writes, result.tokens),
  };
}

async function idleRun(stack) {
  const n = cfg.idleConnections;
  const server = await startServer(stack);
  const client = startClient(stack, server.port, { scenario: 'idle', connections: n });
  await client.wait('connected', 180_000);
  await sleep(500);
  const { mem, connections } = await server.ask({ cmd: 'mem' }, 'mem');
  client.send({ cmd: 'stop' });
  await client.wait('result');
  await client.stop();
  await server.stop();
  const base = server.baseline;
  // The young generation grew during the connect burst and V8 gives it back only
  // after 10-20 s idle: count RSS without its growth (bench/README.md, idle-memory).
  const young = mem.newSpace - base.newSpace;
  return {
    value: (mem.rss - base.rss - young) / n,
    rssWithYoung: (mem.rss - base.rss) / n,
    young: young / n,
    heap: (mem.heapUsed - base.heapUsed) / n,
    external: (mem.external - base.external) / n,
    serverConnections: connections,
  };
}

// Busiest 100 ms window over sorted timestamps (sliding, not bucketed).
function busiestWindow(times, ms = 100) {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function stormRun(variant) {
  const stack = variant === 'socketio' ? 'socketio' : 'rxwire';
  const jitter = variant === 'rxwire-jitter0' ? 0 : undefined;
  let server = await startServer(stack);
  const port = server.port;
  const per = cfg.stormClients / cfg.stormProcesses;
  const clients = [];
  for (let i = 0; i < cfg.stormProcesses; i++) {
    clients.push(startClient(stack, port, { scenario: 'storm', connections: per, jitter }));
  }
  await Promise.all(clients.map((c) => c.wait('connected', 120_000)));
  // Restart: the server process dies (SIGKILL: every socket drops at once, as in a
  // crash or an OOM kill) and a new process listens on the same port.
  const since = Date.now();
  server.proc.kill('SIGKILL');
  await server.exited;
  server = await startServer(stack, port);
  const listening = Date.now();
  const deadline = Date.now() + cfg.stormTimeoutMs;
  let status;
  for (;;) {
    const all = await Promise.all(clients.map((c) => c.ask({ cmd: 'status', since }, 'status')));
    status = all.reduce(
      (s, { status: x }) => ({
        connected: s.connected + x.connected,
        gaveUp: s.gaveUp + x.gaveUp,
        total: s.total + x.total,
      }),
      { connected: 0, gaveUp: 0, total: 0 },
    );
    if (status.connected + status.gaveUp >= status.total || Date.now() > deadline) break;
    await sleep(100);
  }
  const reports = await Promise.all(clients.map((c) => c.ask({ cmd: 'report', since }, 'result')));
  await Promise.all(clients.map((c) => c.stop()));
  await server.stop();
  const attempts = reports.flatMap((r) => r.result.attempts);
  const last = Math.max(...reports.map((r) => r.result.lastConnected));
  const busiest = busiestWindow(attempts);
  return {
    value: status.connected === status.total ? (last - since) / 1000 : null,
    afterListen: (last - listening) / 1000,
    downMs: listening - since,
    busiest,
    busiestPct: (100 * busiest) / status.total,
    attempts: attempts.length,
    reconnected: status.connected,
    gaveUp: status.gaveUp,
    clients: status.total,
  };
}

// ---------------------------------------------------------------- driver

const results = [];
const want = (name) => !only || only.some((o) => name.startsWith(o));

// Runs `fn(unit)` for each unit, alternated A B C A B C ... for cfg.runs rounds.
async function alternate(label, units, fn) {
  const out = Object.fromEntries(units.map((u) => [u, []]));
  for (let r = 0; r < cfg.runs; r++) {
    for (const u of units) {
      const t0 = Date.now();
      const res = await fn(u);
      out[u].push(res);
      const v = typeof res.value === 'number' ? res.value.toFixed(1) : res.value;
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      const cpu =
        res.serverCpu === undefined
          ? ''
          : `, server ${res.serverCpu.toFixed(2)} µs` +
            (res.serverWrites == null
              ? ''
              : ` ${res.serverWrites.toFixed(2)} writes ${res.serverReads.toFixed(2)} reads`) +
            (res.clientCpu === undefined ? '' : `, clients ${res.clientCpu.toFixed(2)} µs`) +
            (res.waitedShare === undefined
              ? ''
              : `, server waited ${(100 * res.waitedShare).toFixed(0)}%, busy ${res.serverBusy.toFixed(2)} (clients ${res.clientsBusy.toFixed(2)}) cores, loop active ${(100 * res.serverLoopActive).toFixed(0)}%`);
      const summary = res.summary === undefined ? '' : `, ${res.summary}`;
      console.log(`  ${label} run ${r + 1}/${cfg.runs} ${u}: ${v}${cpu}${summary} (${took} s)`);
    }
  }
  return out;
}

/** The server's system calls per unit (round trip, delivery, token), medians per stack. */
function syscallDetail(out, stacks) {
  return Object.fromEntries(
    stacks
      .filter((s) => out[s])
      .map((s) => [
        KEY[s],
        {
          server_writes_per_unit: median(out[s].map((r) => r.serverWrites)),
          server_reads_per_unit: median(out[s].map((r) => r.serverReads)),
        },
      ]),
  );
}

function summarize(name, unit, out, field = 'value', stacks = STACKS, higherBetter = true) {
  const entry = { name, unit, runs: cfg.runs, higher_is_better: higherBetter, min: {}, max: {} };
  for (const s of ALL_STACKS) {
    const key = KEY[s];
    if (!stacks.includes(s) || !out[s]) {
      entry[key] = null;
      continue;
    }
    const vals = out[s].map((r) => r[field]);
    entry[key] = median(vals);
    const nums = vals.filter((v) => typeof v === 'number');
    entry.min[key] = nums.length ? Math.min(...nums) : null;
    entry.max[key] = nums.length ? Math.max(...nums) : null;
  }
  const ratio = (a, b) => (a != null && b != null && b !== 0 ? a / b : null);
  entry.rxwire_vs_raw = ratio(entry.rxwire, entry.raw_ws);
  entry.rxwire_vs_raw_envelope = ratio(entry.rxwire, entry.raw_envelope);
  entry.rxwire_vs_socketio = ratio(entry.rxwire, entry.socketio);
  entry.rxwire_http_vs_raw = ratio(entry.rxwire_http, entry.raw_ws);
  results.push(entry);
  return entry;
}

console.log(
  `rxwire bench: ${quick ? `--quick (${cfg.runs} timed run(s) per stack, short windows)` : `${cfg.runs} timed runs per stack, alternated`}; fd limit ${fdLimit()}`,
);

for (const size of [64, 3200]) {
  const name = `echo-${size}B`;
  if (!want(name)) continue;
  console.log(`${name}: 32 connections, one message in flight each`);
  const out = await alternate(name, ECHO_STACKS, (s) => echoRun(s, size));
  summarize(name, 'round trips/s', out, 'value', ECHO_STACKS);
  summarize(`${name} p50`, 'ms', out, 'p50', ECHO_STACKS, false);
  summarize(`${name} p99`, 'ms', out, 'p99', ECHO_STACKS, false);
  const cpu = summarize(
    `${name} server-cpu`,
    'server CPU µs/round trip',
    out,
    'serverCpu',
    ECHO_STACKS,
    false,
  );
  cpu.note = 'process.cpuUsage() in the server process over the timed window ÷ round trips';
  cpu.detail = syscallDetail(out, ECHO_STACKS);
}

if (want('fanout')) {
  console.log(
    `fanout: ${cfg.fanoutClients} clients in ${cfg.fanoutProcesses} processes, ${cfg.fanoutSize}-byte broadcasts, at most ${cfg.fanoutCredit} in flight`,
  );
  const out = await alternate('fanout', STACKS, (s) => fanoutRun(s, cfg));
  const e = summarize('fanout', 'deliveries/s at the clients', out);
  e.clients = cfg.fanoutClients;
  e.detail = Object.fromEntries(
    STACKS.filter((s) => out[s]).map((s) => [
      KEY[s],
      {
        broadcasts_per_s: median(out[s].map((r) => r.broadcasts)),
        // Share of the window the server waited for credit: near 0, the server
        // sets the pace; well above 0, the load generators do.
        server_waited_share: median(out[s].map((r) => r.waitedShare)),
        client_cpu_us_per_delivery: median(out[s].map((r) => r.clientCpu)),
      },
    ]),
  );
  summarize('fanout server-cpu', 'server CPU µs/delivery', out, 'serverCpu', STACKS, false).detail =
    syscallDetail(out, STACKS);
}

if (want('token-stream')) {
  console.log(
    `token-stream: ${cfg.tokenClients} clients, requests of ${cfg.tokensPerRequest} tokens of 8 bytes, one token per server turn`,
  );
  const out = await alternate('token-stream', STACKS, tokenRun);
  const e = summarize('token-stream', 'tokens/s', out);
  e.detail = Object.fromEntries(
    STACKS.filter((s) => out[s]).map((s) => [
      KEY[s],
      { requests_in_window: out[s].map((r) => r.requests) },
    ]),
  );
  summarize('token-stream p99', 'ms to the last token', out, 'p99', STACKS, false);
  summarize(
    'token-stream server-cpu',
    'server CPU µs/token',
    out,
    'serverCpu',
    STACKS,
    false,
  ).detail = syscallDetail(out, STACKS);
}

if (want('audio-flood')) {
  console.log('audio-flood: 200 connections, 640-byte PCM16 frames, window-limited');
  const out = await alternate('audio-flood', STACKS, audioRun);
  const e = summarize('audio-flood', 'frames/s at server', out);
  e.implied_16khz_streams = Object.fromEntries(
    ['raw_ws', 'rxwire', 'socketio'].map((k) => [k, e[k] == null ? null : Math.floor(e[k] / 50)]),
  );
  e.rxwire_client_dropped = out.rxwire.map((r) => r.clientDropped);
  const s = summarize('audio-flood streams', '16 kHz streams (frames/s ÷ 50)', out, 'streams');
  s.note = 'frames/s ÷ 50';
}

if (want('idle-memory')) {
  const n = cfg.idleConnections;
  console.log(
    `idle-memory: ${n} idle sessions, server memory after GC minus baseline (RSS less young-generation growth)`,
  );
  const out = await alternate('idle-memory', STACKS, idleRun);
  const e = summarize('idle-memory', 'RSS bytes/conn', out, 'value', STACKS, false);
  e.connections = n;
  e.note = 'RSS minus the growth of V8 new space (released by V8 only after 10-20 s idle)';
  e.detail = Object.fromEntries(
    STACKS.filter((s) => out[s]).map((s) => [
      KEY[s],
      {
        rss_with_young_gen: median(out[s].map((r) => r.rssWithYoung)),
        young_gen: median(out[s].map((r) => r.young)),
      },
    ]),
  );
  summarize('idle-memory heap', 'heapUsed bytes/conn', out, 'heap', STACKS, false).connections = n;
}

if (want('reconnect-storm')) {
  console.log(
    `reconnect-storm: ${cfg.stormClients} clients in ${cfg.stormProcesses} processes, server restarts on the same port`,
  );
  const variants = ['rxwire', 'rxwire-jitter0', 'socketio'];
  const out = await alternate('reconnect-storm', variants, stormRun);
  const pick = (v) => ({ rxwire: out[v] });
  const def = { rxwire: out.rxwire, socketio: out.socketio };
  const stacks = ['rxwire', 'socketio'];
  const a = summarize('reconnect-storm', 's until all reconnected', def, 'value', stacks, false);
  const b = summarize(
    'reconnect-storm busiest',
    '% of clients in busiest 100 ms',
    def,
    'busiestPct',
    stacks,
    false,
  );
  const c = summarize(
    'reconnect-storm jitter:0',
    's until all reconnected',
    pick('rxwire-jitter0'),
    'value',
    ['rxwire'],
    false,
  );
  const d = summarize(
    'reconnect-storm jitter:0 busiest',
    '% of clients in busiest 100 ms',
    pick('rxwire-jitter0'),
    'busiestPct',
    ['rxwire'],
    false,
  );
  for (const e of [a, b, c, d]) {
    e.clients = cfg.stormClients;
    e.raw_ws_note = 'n/a: raw ws has no reconnection';
  }
  for (const [v, rs] of Object.entries(out)) {
    const e = v === 'rxwire-jitter0' ? c : a;
    e.detail = e.detail ?? {};
    e.detail[v] = rs.map((r) => ({
      reconnected: r.reconnected,
      gaveUp: r.gaveUp,
      attempts: r.attempts,
      busiest: r.busiest,
      seconds: r.value,
      serverDownMs: r.downMs,
    }));
  }
}

const CLUSTER_STACKS = pick(['rxwire', 'socketio']);
const wantCluster = want('cluster-broadcast') || want('cluster-handover');
if (wantCluster && !hasCluster(process.env.RXWIRE_DIST)) {
  console.log(
    `cluster-broadcast, cluster-handover: skipped: the build in ${process.env.RXWIRE_DIST} has no rxwire/cluster (--dist=<a build with it>)`,
  );
} else if (wantCluster) {
  if (want('cluster-broadcast')) {
    console.log(
      `cluster-broadcast: ${cfg.clusterNodes} nodes on one redis-server, ${cfg.fanoutClients} clients spread over them in ${cfg.fanoutProcesses} processes, the first node broadcasting ${cfg.fanoutSize}-byte messages, at most ${cfg.fanoutCredit} in flight`,
    );
    const out = await alternate('cluster-broadcast', CLUSTER_STACKS, async (s) => {
      const res = await clusterBroadcastRun(s, cfg);
      const redis = `Redis ${res.redisCallsPerBroadcast.toFixed(1)} commands/broadcast`;
      const log = res.logBacklog === null ? '' : `, ${res.logBacklog} waiting for the log`;
      res.summary = `${redis}${log}`;
      return res;
    });
    const e = summarize(
      'cluster-broadcast',
      'deliveries/s at the clients',
      out,
      'value',
      CLUSTER_STACKS,
    );
    Object.assign(e, {
      clients: cfg.fanoutClients,
      nodes: cfg.clusterNodes,
      raw_ws_note: 'n/a: raw ws has no cluster',
    });
    e.detail = Object.fromEntries(
      CLUSTER_STACKS.filter((s) => out[s]).map((s) => [
        KEY[s],
        {
          broadcasts_per_s: median(out[s].map((r) => r.broadcasts)),
          server_waited_share: median(out[s].map((r) => r.waitedShare)),
          client_cpu_us_per_delivery: median(out[s].map((r) => r.clientCpu)),
          // rxwire: broadcasts sent but still waiting to be appended to the cluster's log.
          log_backlog: median(out[s].map((r) => r.logBacklog)),
        },
      ]),
    );
    const cpu = summarize(
      'cluster-broadcast server-cpu',
      'server CPU µs/delivery, all nodes',
      out,
      'serverCpu',
      CLUSTER_STACKS,
      false,
    );
    cpu.note = `process.cpuUsage() of the ${cfg.clusterNodes} nodes summed, ÷ deliveries; Redis's own CPU in detail`;
    cpu.detail = syscallDetail(out, CLUSTER_STACKS);
    for (const s of CLUSTER_STACKS.filter((x) => out[x])) {
      Object.assign(cpu.detail[KEY[s]], {
        // The broadcasting node first.
        node_cpu_us_per_delivery: out[s][0].nodeCpu.map((_, i) =>
          median(out[s].map((r) => r.nodeCpu[i])),
        ),
        redis_cpu_us_per_delivery: median(out[s].map((r) => r.redisCpu)),
        redis_commands_per_broadcast: median(out[s].map((r) => r.redisCallsPerBroadcast)),
      });
    }
  }

  if (want('cluster-handover') && (!onlyStacks || onlyStacks.includes('rxwire'))) {
    console.log(
      `cluster-handover: ${cfg.handoverSessions} sessions on the first of ${cfg.clusterNodes} nodes (clients in ${cfg.handoverProcesses} processes), messages both ways and a broadcast every ${cfg.handoverEveryMs} ms; the node drains and every session resumes on another`,
    );
    const variants = ['rxwire', 'rxwire-jitter0', 'rxwire-same-node'];
    const out = await alternate('cluster-handover', variants, async (v) => {
      const res = await handoverRun(v, cfg);
      const drain = res.drainMs === null ? 'sockets cut' : `drain ${Math.round(res.drainMs)} ms`;
      res.summary = `p50 ${res.p50} ms, max ${res.max} ms, ${res.resumed}/${res.sessions} resumed, ${drain}, all back in ${res.allMovedMs} ms, CPU per move: nodes ${res.firstCpuPerMove.toFixed(2)} + ${res.othersCpuPerMove.toFixed(2)} ms, clients ${res.clientCpuPerMove.toFixed(2)} ms${res.redisCallsPerMove === null ? '' : `, Redis ${res.redisCallsPerMove.toFixed(1)} commands/move`}`;
      return res;
    });
    const ms = 'ms $hello→$welcome';
    const of = (v) => ({ rxwire: out[v] });
    const rx = ['rxwire'];
    const rows = [
      summarize('cluster-handover p50', ms, of('rxwire'), 'p50', rx, false),
      summarize('cluster-handover p99', ms, of('rxwire'), 'p99', rx, false),
      summarize('cluster-handover resumed', 'sessions resumed', of('rxwire'), 'resumed', rx),
      summarize(
        'cluster-handover node-cpu',
        'nodes CPU ms/move',
        of('rxwire'),
        'nodeCpuPerMove',
        rx,
        false,
      ),
      summarize('cluster-handover jitter:0 p99', ms, of('rxwire-jitter0'), 'p99', rx, false),
      summarize('cluster-handover same-node p99', ms, of('rxwire-same-node'), 'p99', rx, false),
    ];
    for (const e of rows) {
      Object.assign(e, {
        sessions: cfg.handoverSessions,
        nodes: cfg.clusterNodes,
        raw_ws_note: 'n/a: raw ws has no sessions',
        socketio_note: 'n/a: Socket.IO cannot move a session to another node',
      });
    }
    rows[3].note =
      'CPU of every node from the drain until all clients were back, less the traffic (its rate after the move), ÷ sessions';
    Object.assign(rows[5], {
      nodes: 1,
      note: 'no cluster: every socket cut at once, each session resumes on the same server (the floor of the handover figure on this harness)',
    });
    rows[1].detail = Object.fromEntries(
      variants.map((v) => [
        v,
        out[v].map((r) => ({
          p50_ms: r.p50,
          p99_ms: r.p99,
          max_ms: r.max,
          resumed: r.resumed,
          drain_ms: r.drainMs === null ? null : Math.round(r.drainMs),
          all_back_ms: r.allMovedMs,
          node_cpu_ms_per_move: r.nodeCpuPerMove,
          drained_node_cpu_ms_per_move: r.firstCpuPerMove,
          receiving_nodes_cpu_ms_per_move: r.othersCpuPerMove,
          client_cpu_ms_per_move: r.clientCpuPerMove,
          redis_commands_per_move: r.redisCallsPerMove,
          attempts_after_first: r.attempts,
          moved_in_per_node: r.movedIn,
          messages: r.messages,
        })),
      ]),
    );
  }
}

// ---------------------------------------------------------------- report

let bufferutil = false;
try {
  require.resolve('bufferutil');
  bufferutil = true;
} catch {
  bufferutil = false;
}
function git(argv) {
  try {
    return execFileSync('git', argv, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
const cpus = os.cpus();
const report = {
  date: new Date().toISOString(),
  machine: `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
  node: process.version,
  commit: distArg === undefined ? git(['rev-parse', '--short', 'HEAD']) : `--dist=${distArg}`,
  src_changes_uncommitted: git(['status', '--porcelain', '--', 'src', 'server']) !== '',
  cpus: cpus.length,
  cpu_model: cpus[0]?.model ?? 'unknown',
  bufferutil,
  fd_limit: fdLimit(),
  mode: quick ? 'quick' : full ? 'full' : 'default',
  config: cfg,
  seconds: Math.round((Date.now() - started) / 1000),
  scenarios: results,
};
const outFile = outArg === undefined ? join(here, 'results.json') : resolve(outArg);
writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');

console.log('');
for (const line of formatTable(report)) console.log(line);
console.log(`\nwrote ${outArg ?? 'bench/results.json'} in ${report.seconds} s`);
