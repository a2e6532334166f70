// `npm run chaos -- --minutes 10 --clients 50 [--rate 100] [--seed N]`: the
// chaos test of spec/e2e/chaos.spec.ts as a soak. Clients and server send
// numbered messages both ways through the fault proxy for the given time,
// then it prints messages each way, faults, reconnects, resumes, resends,
// duplicates dropped, lost (must be 0), delivery delay and heap. Exit code 1
// when anything was lost or repeated.
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const [, inline] = args[i].split('=');
  return Number(inline ?? args[i + 1]);
};
const minutes = arg('minutes', 1);
const clients = arg('clients', 20);
const rate = arg('rate', 100);
const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
if (![minutes, clients, rate, seed].every(Number.isFinite) || minutes <= 0 || clients < 1) {
  console.error('usage: npm run chaos -- --minutes 10 --clients 50 [--rate 100] [--seed N]');
  process.exit(2);
}

// The harness is TypeScript in spec/helpers; esbuild bundles it (dependencies stay external).
const root = resolve(import.meta.dirname, '..');
const out = await build({
  stdin: {
    contents: "export { runChaos, formatChaos } from './spec/helpers/chaos.ts';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  write: false,
  logLevel: 'error',
});
const dir = mkdtempSync(join(root, 'node_modules', '.rxwire-chaos-'));
const file = join(dir, 'chaos.mjs');
writeFileSync(file, out.outputFiles[0].text);
const { runChaos, formatChaos } = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true, force: true });

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
