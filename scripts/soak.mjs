// `npm run soak -- --minutes 30 --clients 1000 [--seed N] [--out soak]`: the
// soak run of spec/helpers/soak.ts. Clients connect, exchange numbered
// messages and requests, are cut off and resume, leave and are replaced, for
// the given time. Every 10 s it pauses sending until nothing is in flight,
// then records RSS, heap (raw and after a forced GC), sessions, unacknowledged
// messages and handles into <out>.csv; it draws the curves into <out>.svg. Exit code 1 when anything was lost or repeated, or
// when the heap after GC grew by more than 5% from minute 2 to the end (a
// robust line, Theil–Sen's, through every sample of that window; from half
// the run when it is shorter than 4 minutes).
import { writeFileSync } from 'node:fs';
import { bundleHelper, numberArgs } from './run-helper.mjs';

const args = process.argv.slice(2);
const { minutes, clients, seed, rate } = numberArgs(args, {
  minutes: 5,
  clients: 200,
  seed: Math.floor(Math.random() * 2 ** 31),
  rate: 2,
});
const outAt = args.findIndex((a) => a === '--out' || a.startsWith('--out='));
const out = outAt < 0 ? 'soak' : (args[outAt].split('=')[1] ?? args[outAt + 1]);
if (!(minutes > 0 && clients >= 1 && rate > 0) || !out) {
  console.error(
    'usage: npm run soak -- --minutes 30 --clients 1000 [--rate 2] [--seed N] [--out soak]',
  );
  process.exit(2);
}

const { runSoak, formatSoak, soakCsv, soakSvg } = await bundleHelper('soak', [
  'runSoak',
  'formatSoak',
  'soakCsv',
  'soakSvg',
]);
console.log(`soak: ${minutes} min, ${clients} clients, ${rate} messages/s each, seed ${seed}`);
const report = await runSoak({
  minutes,
  clients,
  seed,
  rate,
  log: (line) => console.log(`  ${line}`),
});
writeFileSync(`${out}.csv`, soakCsv(report));
writeFileSync(`${out}.svg`, soakSvg(report));
console.log(formatSoak(report));
console.log(`  wrote ${out}.csv and ${out}.svg`);
process.exit(report.problems.length === 0 ? 0 : 1);
