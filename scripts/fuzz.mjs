// `npm run fuzz -- --frames 100000 [--connections 16] [--clients 8] [--seed N]`:
// the live fuzz run of spec/fuzz/live.spec.ts at full length. Raw connections
// send random, mutated-valid and oversized frames (text and binary, before and
// after `$hello`) at a live server while well-behaved rxwire clients exchange
// numbered messages with it; every answer is checked against the documented
// one. It prints frames by class, answers by code and the heap before and
// after (after a forced GC), and exits 1 on any mismatch, loss, a server that
// stopped serving, or growth of the heap without compiled code over 2 MiB.
import { bundleHelper, numberArgs } from './run-helper.mjs';

const { frames, connections, clients, seed } = numberArgs(process.argv.slice(2), {
  frames: 100_000,
  connections: 16,
  clients: 8,
  seed: Math.floor(Math.random() * 2 ** 31),
});
if (!(frames >= 1 && connections >= 1 && clients >= 1)) {
  console.error(
    'usage: npm run fuzz -- --frames 100000 [--connections 16] [--clients 8] [--seed N]',
  );
  process.exit(2);
}

const { runFuzz, formatFuzz } = await bundleHelper('fuzz', ['runFuzz', 'formatFuzz']);
console.log(
  `fuzz: ${frames} frames from ${connections} connections at a time, ${clients} clients, seed ${seed}`,
);
const report = await runFuzz({
  frames,
  connections,
  clients,
  seed,
  log: (line) => console.log(`  ${line}`),
});
console.log(formatFuzz(report));
process.exit(report.problems.length === 0 ? 0 : 1);
