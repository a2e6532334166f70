// The bench's processes: server and load-generator children (server.mjs,
// client.mjs and the like), started through bash with the hard fd limit,
// talking to the orchestrator over IPC; and the server's CPU and system-call
// readings around a load generator's timed window.
import { spawn, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));

export function fdLimit() {
  try {
    return execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// Each child is started through bash so its fd limit is raised to the hard limit.
// `env` adds environment variables (e.g. a Redis URL for the servers of a cluster).
export function child(script, argv, nodeArgs = [], env = {}) {
  const cmd = [process.execPath, ...nodeArgs, join(here, script), ...argv]
    .map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const proc = spawn('bash', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; exec ${cmd}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const queue = [];
  const waiters = [];
  const listeners = [];
  proc.on('message', (m) => {
    const listener = listeners.find((l) => l.key in m);
    if (listener) return listener.fn(m);
    const i = waiters.findIndex((w) => w.key in m);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else queue.push(m);
  });
  const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  const api = {
    proc,
    exited,
    wait(key, timeoutMs = 120_000) {
      const i = queue.findIndex((m) => key in m);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { key, resolve };
        waiters.push(w);
        const timer = globalThis.setTimeout(
          () => reject(new Error(`${script} ${argv[0]}: no '${key}' in ${timeoutMs} ms`)),
          timeoutMs,
        );
        w.resolve = (m) => {
          globalThis.clearTimeout(timer);
          resolve(m);
        };
        exited.then((code) => reject(new Error(`${script} ${argv[0]} exited (${code})`)));
      });
    },
    send: (m) => proc.connected && proc.send(m),
    /** Every message carrying `key` goes to `fn` from now on, instead of the queue. */
    on(key, fn) {
      listeners.push({ key, fn });
    },
    async ask(m, key) {
      api.send(m);
      return api.wait(key);
    },
    async stop() {
      if (proc.connected) proc.disconnect();
      // Unref'd: a child that exits at once must not keep the bench alive for the bound.
      await Promise.race([exited, sleep(10_000, undefined, { ref: false })]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
  return api;
}

// Extra node flags for profiling, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const extra = (name) => (process.env[name] ?? '').split(' ').filter(Boolean);

export async function startServer(stack, port = 0, env = {}) {
  const s = child(
    'server.mjs',
    [stack, port],
    ['--expose-gc', ...extra('BENCH_SERVER_NODE_ARGS')],
    env,
  );
  const ready = await s.wait('ready', 30_000);
  return Object.assign(s, { port: ready.port, baseline: ready.baseline });
}

/**
 * `n` server processes of one stack, each on its own port. For the scenarios
 * across nodes (cluster-broadcast, cluster-handover): start a private Redis with
 * `startRedis()` (bench/redis.mjs), pass its URL in `env`, and let
 * `startClients` spread the connections over the nodes.
 */
export const startServers = (stack, n, env = {}) =>
  Promise.all(Array.from({ length: n }, () => startServer(stack, 0, env)));

/** Load generators: `processes` of them, `connections` in all, spread over the servers' ports. */
export function startClients(stack, servers, processes, connections, params) {
  const ports = servers.map((s) => s.port);
  return Array.from({ length: processes }, () =>
    startClient(stack, ports[0], { ...params, ports, connections: connections / processes }),
  );
}

export const startClient = (stack, port, params) =>
  loadGenerator('client.mjs', [stack, port, JSON.stringify(params)]);

/** A load-generator process running `script` (with BENCH_CLIENT_NODE_ARGS). */
export const loadGenerator = (script, argv) => child(script, argv, extra('BENCH_CLIENT_NODE_ARGS'));

/**
 * The server's CPU time (µs, process.cpuUsage() inside it: the kernel's
 * accounting of that process) between the load generator's `measuring` and
 * `measured` messages, i.e. over its timed window.
 */
export async function serverCpuDuring(client, server) {
  await client.wait('measuring');
  const before = await server.ask({ cmd: 'cpu' }, 'cpu');
  await client.wait('measured');
  const after = await server.ask({ cmd: 'cpu' }, 'cpu');
  return { cpu: after.cpu - before.cpu, ...syscallsBetween(before, after) };
}

/** Server system calls between two `cpu` readings: {reads, writes}, null off Linux. */
export function syscallsBetween(before, after) {
  if (before.syscalls === null || after.syscalls === null) return { reads: null, writes: null };
  return {
    reads: after.syscalls.reads - before.syscalls.reads,
    writes: after.syscalls.writes - before.syscalls.writes,
  };
}

export const per = (n, d) => (n === null ? null : n / d);
