// What a user installs: `npm pack` of the built package (made by `pretest`),
// installed with express into a fresh app in a temporary folder (outside the
// repository, so nothing resolves from its node_modules: no esbuild, no
// TypeScript), then `rxwire serve` from that app's node_modules/.bin and its
// page in Chromium. The npm cache holds every package after `npm ci`.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import {
  SKIP_MESSAGE,
  hasChromium,
  launchChromium,
  removeFolder,
  screenshot,
  tempFolder,
  writeSineWav,
} from '../browser/harness';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const root = resolve(__dirname, '../..');
const exec = promisify(execFile);
const WAIT = { timeout: 20_000 };

let folder: string;
let app: string;
let shipped: string[];

/** `npm <args>` in `cwd`, without the npm_* settings of an `npm test` around it. */
async function npm(args: string[], cwd: string): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
  const { stdout } = await exec('npm', args, { cwd, env, timeout: 80_000, maxBuffer: 1 << 24 });
  return stdout;
}

beforeAll(async () => {
  folder = tempFolder('pack');
  const [packed] = JSON.parse(
    await npm(['pack', '--json', '--pack-destination', folder], root),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  shipped = packed!.files.map((f) => f.path);
  app = join(folder, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "fresh-app", "private": true }\n');
  await npm(
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(folder, packed!.filename),
      'express@5',
    ],
    app,
  );
}, 90_000);

afterAll(() => {
  if (folder) removeFolder(folder);
});

it('ships LICENSE, README.md, docs/PROTOCOL.md and the built page script', () => {
  expect(shipped).toEqual(
    expect.arrayContaining([
      'LICENSE',
      'README.md',
      'docs/PROTOCOL.md',
      'package.json',
      'dist/cjs/demo/pages/app.js',
      'dist/cjs/cli/rxwire.js',
    ]),
  );
  // Sources and tests stay home.
  expect(shipped.filter((p) => /^(spec|src|server|demo|cli|bench|scripts)\//.test(p))).toEqual([]);
});

it('installs without a bundler: in the app, rxwire resolves and esbuild does not', async () => {
  const resolveIn = (name: string) =>
    exec(process.execPath, ['-p', `require.resolve(${JSON.stringify(name)})`], { cwd: app });
  expect((await resolveIn('rxwire/package.json')).stdout.trim()).toBe(
    join(app, 'node_modules', 'rxwire', 'package.json'),
  );
  await expect(resolveIn('esbuild')).rejects.toThrow(/Cannot find module 'esbuild'/);
});

describe('npx rxwire serve from the installed package', () => {
  let served: ServeProcess;
  let origin: string;

  beforeAll(async () => {
    served = startServe(join(app, 'node_modules', '.bin', 'rxwire'), ['serve', '--port', '0'], {
      cwd: app,
    });
    origin = await served.url;
  });

  afterAll(async () => {
    if (served.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  });

  it('serves the prebuilt page script', async () => {
    const script = await fetch(`${origin}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    const debug = (await (await fetch(`${origin}/demo/debug`)).json()) as { page: unknown };
    expect(debug.page).toEqual({ ok: true, from: 'prebuilt' });
  });

  describe('in Chromium', () => {
    if (!hasChromium) {
      it('is skipped without Chromium', () => console.warn(SKIP_MESSAGE));
      return;
    }
    let browser: BrowserContext;

    beforeAll(async () => {
      const wav = join(folder, 'silence.wav');
      writeSineWav(wav, { hz: 440, sampleRate: 16_000, seconds: 1, amplitude: 0 });
      browser = await launchChromium(wav, join(folder, 'profile'));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('is connected on load, and the chat answers', async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT.timeout);
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      try {
        await page.goto(`${origin}/`);
        await page.waitForSelector('#conn[data-status="connected"]', WAIT);
        await page.waitForFunction(() =>
          /^\d+ ms$/.test(document.getElementById('latency')!.textContent ?? ''),
        );
        await page.fill('#chat-text', 'hello from the tarball');
        await page.click('#chat-send');
        await page.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
        const reply = await page.$$eval('#chat-log li.bot .tok', (spans) =>
          spans.map((s) => s.textContent).join(''),
        );
        expect(reply).toMatch(/^You said "hello from the tarball"/);
        expect(problems).toEqual([]);
        await screenshot(page, join(tmpdir(), 'rxwire-browser-shots'), 'installed-package');
      } finally {
        await page.close();
      }
    }, 60_000);
  });

  it('stops cleanly on SIGTERM', async () => {
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });
});
