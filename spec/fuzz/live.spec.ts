// The live fuzz run, short (`npm run fuzz -- --frames 100000` is the long
// one): 2,000 random, mutated-valid and oversized frames from 16 raw
// connections at a live server, with 8 rxwire clients exchanging numbered
// messages and requests alongside. Every answer must be the documented one,
// the clients must lose nothing, the server must serve a new client after,
// and the heap must come back to its baseline. A failure prints the seed:
// FUZZ_SEED=<seed> npx jest spec/fuzz/live reruns it.
import { formatFuzz, runFuzz } from '../helpers/fuzz.js';

jest.setTimeout(120_000);

it('answers 2,000 fuzz frames as documented, while well-behaved clients lose nothing', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const report = await runFuzz({ seed, frames: 2_000 });
  process.stdout.write(`${formatFuzz(report)}\n`);
  if (report.problems.length > 0) {
    throw new Error(`fuzz failed (rerun with FUZZ_SEED=${seed}):\n${formatFuzz(report)}`);
  }
  expect(report.frames).toBe(2_000);
  expect(report.mismatchCount).toBe(0);
  expect(report.clients.lost).toBe(0);
  expect(report.clients.sent.up).toBeGreaterThan(0);
  expect(report.server.upAfter).toBe(true);
  // Every class of bad frame was sent and answered.
  for (const kind of [
    'random-text',
    'mutated-bytes',
    'mutated-field',
    'deep',
    'random-binary',
    'mutated-audio',
    'bad-first',
  ]) {
    expect(Object.values(report.outcomes[kind] ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(
      0,
    );
  }
});
