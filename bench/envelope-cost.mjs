// What rxwire's envelope costs by itself, against what the library adds:
// echo-64B (and echo-3200B with --size=3200) with raw ws speaking {type, payload},
// raw ws speaking rxwire's envelope (id, seq, ack, ISO timestamp, checked on
// receipt; no library), and rxwire; alternated, 5 runs each. Reports round
// trips/s and CPU time per round trip of the load generator and the server
// (from /proc, so Linux only): CPU per round trip moves less than throughput
// on a shared machine.
//   npm run build && node bench/envelope-cost.mjs [--size=64] [--runs=5]
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { nextMessage } from './ipc.mjs';
import { median } from './stats.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const size = Number(args.size ?? 64);
const runs = Number(args.runs ?? 5);
const stacks = ['raw', 'raw-envelope', 'rxwire'];
const here = new URL('.', import.meta.url).pathname;
const WARM_MS = 3000; // rxwire reaches its steady rate after about 2.5 s (see "Warm-up" in README.md)
const TIMED_MS = 3000;

/** CPU time (user + system) of a process in µs, from /proc (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function run(stack) {
  const server = fork(`${here}server.mjs`, [stack], { execArgv: ['--expose-gc'] });
  const { port } = await nextMessage(server, 'ready');
  const params = { scenario: 'echo', connections: 32, size, warmMs: WARM_MS, timedMs: TIMED_MS };
  const client = fork(`${here}client.mjs`, [stack, String(port), JSON.stringify(params)]);
  const result = nextMessage(client, 'result');
  // Sample CPU inside the client's timed window.
  await sleep(WARM_MS + 300);
  const c0 = cpuMicros(client.pid);
  const s0 = cpuMicros(server.pid);
  const t0 = performance.now();
  await sleep(TIMED_MS - 600);
  const c1 = cpuMicros(client.pid);
  const s1 = cpuMicros(server.pid);
  const seconds = (performance.now() - t0) / 1000;
  const { value } = (await result).result;
  const trips = value * seconds;
  server.send({ cmd: 'close' });
  await Promise.race([new Promise((r) => server.on('exit', r)), sleep(3000)]);
  client.kill();
  server.kill();
  return { value, client: (c1 - c0) / trips, server: (s1 - s0) / trips };
}

if (!process.env.RXWIRE_DIST && !existsSync(new URL('../dist/cjs/src/index.js', import.meta.url))) {
  console.error('dist/cjs is missing: run `npm run build` first');
  process.exit(2);
}

const out = Object.fromEntries(stacks.map((s) => [s, []]));
for (let i = 1; i <= runs; i++) {
  for (const stack of stacks) {
    const r = await run(stack);
    out[stack].push(r);
    console.log(
      `run ${i}/${runs} ${stack.padEnd(12)} ${r.value.toFixed(0).padStart(6)} round trips/s, CPU per round trip: client ${r.client.toFixed(1)} µs, server ${r.server.toFixed(1)} µs`,
    );
  }
}
console.log(`\necho-${size}B, median of ${runs}`);
console.log('stack         round trips/s  vs raw   client µs/rt  server µs/rt');
const raw = median(out.raw.map((r) => r.value));
for (const stack of stacks) {
  const v = median(out[stack].map((r) => r.value));
  const c = median(out[stack].map((r) => r.client));
  const s = median(out[stack].map((r) => r.server));
  console.log(
    `${stack.padEnd(12)}  ${v.toFixed(0).padStart(13)}  ${(v / raw).toFixed(2).padStart(6)}  ${c.toFixed(1).padStart(12)}  ${s.toFixed(1).padStart(12)}`,
  );
}
process.exit(0);
