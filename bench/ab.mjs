// A/B of two stacks, or of two builds of rxwire, on echo: both pairs of
// processes (server + load generator) stay up, warm up once, then take turns
// in short windows (A B A B ...). Each B window is compared with the A window
// just before it, so drift on a shared machine cancels far better than across
// fresh processes; the price is that every figure is a steady-state one.
//   node bench/ab.mjs <a> <b> [--size=64] [--windows=20] [--window-ms=1000] [--warm-ms=4000]
// a, b: raw | raw-envelope | rxwire | socketio; rxwire@<dir> runs the build in
// <dir> (a dist/cjs directory), e.g. to compare a change with the commit before:
//   node bench/ab.mjs rxwire@/tmp/before/dist/cjs rxwire@dist/cjs --size=3200
// Reports round trips/s, CPU µs per round trip of each process, and the median
// (min–max) of the per-pair ratios B / A.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { nextMessage } from './ipc.mjs';
import { median } from './stats.mjs';

const here = new URL('.', import.meta.url).pathname;
const [specA, specB, ...rest] = process.argv.slice(2);
const args = Object.fromEntries(rest.map((a) => a.replace(/^--/, '').split('=')));
const size = Number(args.size ?? 64);
const windows = Number(args.windows ?? 20);
const windowMs = Number(args['window-ms'] ?? 1000);
const warmMs = Number(args['warm-ms'] ?? 4000); // rxwire is steady after about 2.5 s (README.md, "Warm-up")
if (!specA || !specB) {
  console.error('usage: node bench/ab.mjs <a> <b> [--size=64] [--windows=20] [--window-ms=1000]');
  process.exit(2);
}

/** One side: its server and load generator, connected and idle. */
async function launch(spec) {
  const [stack, dir] = spec.split('@');
  const dist = resolve(dir ?? new URL('../dist/cjs', import.meta.url).pathname);
  if (stack.startsWith('rxwire') && !existsSync(`${dist}/src/index.js`)) {
    console.error(`${spec}: no build in ${dist} (run npm run build)`);
    process.exit(2);
  }
  const env = { ...process.env, RXWIRE_DIST: dist };
  const server = fork(`${here}server.mjs`, [stack], { env });
  const { port } = await nextMessage(server, 'ready');
  const params = { scenario: 'echoWindows', connections: 32, size };
  const client = fork(`${here}client.mjs`, [stack, String(port), JSON.stringify(params)], { env });
  await nextMessage(client, 'connected');
  return { spec, server, client, rows: [] };
}

async function window(side, ms) {
  side.server.send({ cmd: 'cpu' });
  const { cpu: s0 } = await nextMessage(side.server, 'cpu');
  side.client.send({ cmd: 'window', ms });
  const { window: w } = await nextMessage(side.client, 'window');
  side.server.send({ cmd: 'cpu' });
  const { cpu: s1 } = await nextMessage(side.server, 'cpu');
  return {
    rate: w.roundTrips / w.seconds,
    client: w.cpu / w.roundTrips,
    server: (s1 - s0) / w.roundTrips,
  };
}

const a = await launch(specA);
const b = await launch(specB);
await window(a, warmMs);
await window(b, warmMs);
for (let i = 0; i < windows; i++) {
  a.rows.push(await window(a, windowMs));
  b.rows.push(await window(b, windowMs));
}

const ratios = b.rows.map((r, i) => r.rate / a.rows[i].rate);
console.log(`echo-${size}B, ${windows} alternated windows of ${windowMs} ms, medians`);
console.log('side  round trips/s  client µs/rt  server µs/rt  stack');
for (const [name, side] of [
  ['A', a],
  ['B', b],
]) {
  const col = (k, digits) => median(side.rows.map((r) => r[k])).toFixed(digits);
  console.log(
    `${name.padEnd(4)}  ${col('rate', 0).padStart(13)}  ${col('client', 1).padStart(12)}  ${col('server', 1).padStart(12)}  ${side.spec}`,
  );
}
console.log(
  `B / A per pair: ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
);
for (const side of [a, b]) {
  side.client.send({ cmd: 'stop' });
  side.server.send({ cmd: 'close' });
}
process.exit(0);
