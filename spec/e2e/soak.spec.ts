// The soak run, short: `npm run soak -- --minutes 2 --clients 50` in a child
// process (so the heap it measures is the library's, not jest's). For two
// minutes 50 clients exchange numbered messages and requests through the
// fault proxy, which cuts connections (they resume), while clients leave and
// new ones join. It must lose nothing and keep the heap after GC within 5%
// from minute 1 (half the run) to the end; the CSV must hold a sample every
// 10 s and the SVG the curves. The long run is `npm run soak -- --minutes 30
// --clients 1000`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

jest.setTimeout(8 * 60_000);

const root = resolve(__dirname, '../..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxwire-soak-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs 2 minutes with 50 clients: nothing lost, the heap flat, a sample every 10 s', async () => {
  const out = join(dir, 'soak');
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((done) => {
    execFile(
      process.execPath,
      ['--expose-gc', 'scripts/soak.mjs', '--minutes', '2', '--clients', '50', '--out', out],
      { cwd: root, timeout: 7 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout: stdout + stderr,
        }),
    );
  });
  process.stdout.write(stdout);
  expect(stdout).toMatch(/OK\n/);
  expect(code).toBe(0);

  const [head, ...rows] = readFileSync(`${out}.csv`, 'utf8').trim().split('\n');
  const columns = head!.split(',');
  expect(columns).toEqual(
    expect.arrayContaining([
      't',
      'rss',
      'heapUsed',
      'heapAfterGc',
      'sessions',
      'unackedServer',
      'unackedClients',
      'handles',
    ]),
  );
  const samples = rows.map((row) =>
    Object.fromEntries(row.split(',').map((v, i) => [columns[i], Number(v)])),
  );
  expect(samples.map((s) => s.t)).toHaveLength(12);
  samples.forEach((s, i) => expect(Math.abs(s.t! - (i + 1) * 10)).toBeLessThanOrEqual(3));
  // Clients come and go, but a session per client at any time (or one more, waiting for its resume).
  for (const s of samples) expect(s.sessions).toBeGreaterThanOrEqual(45);
  for (const s of samples) expect(s.sessions).toBeLessThanOrEqual(60);
  expect(stdout).toMatch(/lost 0, twice 0/);

  const svg = readFileSync(`${out}.svg`, 'utf8');
  expect(svg).toMatch(/^<svg /);
  expect(svg).toContain('heap after GC');
  expect((svg.match(/<polyline /g) ?? []).length).toBeGreaterThanOrEqual(8);
});
