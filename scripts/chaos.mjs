// `npm run chaos -- --minutes 10 --clients 50 [--rate 100] [--seed N]`: the
// chaos test of spec/e2e/chaos.spec.ts as a soak. Clients and server send
// numbered messages both ways through the fault proxy for the given time,
// then it prints messages each way, faults, reconnects, resumes, resends,
// duplicates dropped, lost (must be 0), delivery delay and heap. Exit code 1
// when anything was lost or repeated.
import { bundleHelper, numberArgs } from './run-helper.mjs';

const { minutes, clients, rate, seed } = numberArgs(process.argv.slice(2), {
  minutes: 1,
  clients: 20,
  rate: 100,
  seed: Math.floor(Math.random() * 2 ** 31),
});
if (![minutes, clients, rate, seed].every(Number.isFinite) || minutes <= 0 || clients < 1) {
  console.error('usage: npm run chaos -- --minutes 10 --clients 50 [--rate 100] [--seed N]');
  process.exit(2);
}

const { runChaos, formatChaos } = await bundleHelper('chaos', ['runChaos', 'formatChaos']);

console.log(
  `chaos soak: ${minutes} min, ${clients} clients, ${rate} messages/s each way per client, seed ${seed}`,
);
const report = await runChaos({
  seed,
  clients,
  messages: Number.MAX_SAFE_INTEGER,
  durationMs: minutes * 60_000,
  rate,
  settleMs: 120_000,
  log: (line) => console.log(`  ${line}`),
});
console.log(formatChaos(report));
process.exit(report.lost === 0 && report.repeated === 0 && report.extraSessions === 0 ? 0 : 1);
