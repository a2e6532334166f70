// The chaos test: 20 clients and the server each send 2,000 numbered messages
// to the other through a proxy that cuts, stalls and delays connections on a
// seeded random schedule. Every message must arrive exactly once, in order,
// both ways; every client must have reconnected; no session may be emitted
// twice. A failure prints the seed: CHAOS_SEED=<seed> npx jest spec/e2e/chaos reruns it.
import { formatChaos, runChaos } from '../helpers/chaos.js';

jest.setTimeout(120_000);

it('delivers 2,000 messages each way to and from 20 clients exactly once, in order, under faults', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const report = await runChaos({
    seed,
    clients: 20,
    messages: 2_000,
    rate: 250,
    settleMs: 60_000,
  });
  process.stdout.write(`${formatChaos(report)}\n`);
  if (report.problems.length > 0) {
    throw new Error(`chaos failed (rerun with CHAOS_SEED=${seed}):\n${formatChaos(report)}`);
  }
  expect(report.sent).toEqual({ up: 40_000, down: 40_000 });
  expect(report.received).toEqual({ up: 40_000, down: 40_000 });
  expect(report.lost).toBe(0);
  expect(report.repeated).toBe(0);
  expect(report.extraSessions).toBe(0);
  expect(report.minReconnects).toBeGreaterThan(0);
  expect(report.faults.cuts + report.faults.stalls).toBeGreaterThan(0);
});
