// `node scripts/cluster-handover.mjs [--sessions 1000]`: how long sessions
// take to move between nodes, measured on the multi-process harness of the
// cluster tests (spec/cluster/processes.ts): two node processes on a private
// redis-server. N sessions open on node A; then, for two cases, every client
// sends its resuming `$hello` to node B at once, and the time from that
// `$hello` to its `$welcome` is recorded:
//   - drained: node A was drained first (every session parked in Redis);
//   - live: node A is alive and holds the sessions (a takeover per session);
//   - local: for scale, the same resumes sent to node A itself (no move, no Redis).
// Prints p50, p99 and max per case. Needs redis-server (Debian's) on PATH.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

let ids = 0;
const { values } = parseArgs({ options: { sessions: { type: 'string', default: '1000' } } });
const count = Number(values.sessions);
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: node scripts/cluster-handover.mjs [--sessions 1000]');
  process.exit(2);
}

const root = resolve(import.meta.dirname, '..');
process.env.RXWIRE_ROOT = root;
const out = await build({
  stdin: {
    contents:
      "export * from './spec/cluster/processes.ts'; export { RedisServer } from './spec/helpers/redis-server.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  write: false,
  logLevel: 'error',
});
const dir = mkdtempSync(join(root, 'node_modules', '.rxwire-handover-'));
const file = join(dir, 'harness.cjs');
writeFileSync(file, out.outputFiles[0].text);
const { NodeProcess, RedisServer, nodePorts, removeBundle } = createRequire(import.meta.url)(file);

const redis = await RedisServer.start();
const cluster = {
  redisUrl: redis.url,
  prefix: 'handover',
  secret: 'x'.repeat(40),
  nodeTtl: 10_000,
};
const children = [];
try {
  for (const mode of ['drained', 'live', 'local']) {
    const [portA, portB] = await nodePorts(2);
    const a = await NodeProcess.start(cluster, `a-${mode}`, portA);
    const b = await NodeProcess.start(cluster, `b-${mode}`, portB);
    children.push(a, b);
    const sessions = await openSessions(`ws://127.0.0.1:${portA}/ws`, count);
    if (mode === 'drained') await a.drain();
    const target = mode === 'local' ? portA : portB;
    const times = await resumeAll(`ws://127.0.0.1:${target}/ws`, sessions);
    times.sort((x, y) => x - y);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    console.log(
      `${mode}: ${count} sessions moved at once, $hello to $welcome: p50 ${at(0.5).toFixed(1)} ms, ` +
        `p99 ${at(0.99).toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms`,
    );
    await Promise.all([a.stop(), b.stop()]);
  }
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await redis.stop();
  removeBundle();
  rmSync(dir, { recursive: true, force: true });
}

/** Opens `n` sessions (raw protocol); each resolves with its id and resume token once welcomed. */
async function openSessions(url, n) {
  const out = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => open(url, {}));
    for (const { ws, welcome } of await Promise.all(batch)) {
      out.push({ sessionId: welcome.sessionId, token: welcome.resumeToken });
      ws.terminate(); // a drop: the session waits for a resume
    }
  }
  return out;
}

/** Every session resumes on `url` at once; resolves with each one's $hello → $welcome time. */
async function resumeAll(url, sessions) {
  const sockets = await Promise.all(sessions.map(() => connect(url)));
  const times = await Promise.all(
    sockets.map((ws, i) => {
      const { sessionId, token } = sessions[i];
      return hello(ws, { resume: { sessionId, token, ack: 0 } }).then(({ ms, welcome }) => {
        if (!welcome.resumed) throw new Error(`session ${sessionId} was not resumed`);
        ws.terminate();
        return ms;
      });
    }),
  );
  return times;
}

function connect(url) {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url);
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
  });
}

async function open(url, payload) {
  const ws = await connect(url);
  const { welcome } = await hello(ws, payload);
  return { ws, welcome };
}

function hello(ws, payload) {
  return new Promise((ok, fail) => {
    const started = performance.now();
    ws.once('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type !== '$welcome')
        return fail(new Error(`expected $welcome, got ${String(data)}`));
      ok({ ms: performance.now() - started, welcome: frame.payload });
    });
    ws.once('close', (code, reason) => fail(new Error(`closed ${code} ${reason}`)));
    ws.send(
      JSON.stringify({
        type: '$hello',
        id: `h${++ids}`,
        payload: { v: 1, ...payload },
        timestamp: new Date().toISOString(),
      }),
    );
  });
}
