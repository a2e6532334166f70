// Browser test harness: Debian's Chromium driven by playwright-core, pages
// bundled from spec/browser/pages/*.ts with esbuild at test start, served by
// Express on port 0 beside an rxwire server on the same http server (so a
// page's createClient() default URL reaches it).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import express from 'express';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type RxwireServer } from '../../server/index';

const ROOT = join(__dirname, '..', '..');
export const CHROMIUM_PATH = process.env.RXWIRE_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const SKIP_MESSAGE = `browser tests skipped: ${CHROMIUM_PATH} not found; install with apt-get install -y chromium`;

/** A fresh temp folder for one suite's WAV, profile and screenshots. */
export function tempFolder(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rxwire-${prefix}-`));
}

/** Bundles a page entry (spec/browser/pages/<name>.ts) into one browser script. */
export function bundlePage(name: string): string {
  const result = buildSync({
    entryPoints: [join(__dirname, 'pages', `${name}.ts`)],
    // Pages import the package by name, as users' apps do.
    alias: {
      rxwire: join(ROOT, 'src/index.ts'),
      'rxwire/audio': join(ROOT, 'src/audio/index.ts'),
      'rxwire/testing': join(ROOT, 'src/testing/index.ts'),
    },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for page ${name}`);
  return file.text;
}

export interface TestApp {
  /** http://127.0.0.1:<port> */
  origin: string;
  rx: RxwireServer;
  close(): Promise<void>;
}

/** Express serving `/<page>` (HTML) and `/<page>.js` (the bundle), and rxwire at /ws, on one port-0 server. */
export async function startApp(pages: Record<string, string>): Promise<TestApp> {
  const app = express();
  for (const [name, script] of Object.entries(pages)) {
    app.get(`/${name}.js`, (_req, res) => {
      res.type('application/javascript').send(script);
    });
    app.get(`/${name}`, (_req, res) => {
      res
        .type('html')
        .send(
          `<!doctype html><html><head><meta charset="utf-8"><title>${name}</title></head>` +
            `<body style="font: 16px monospace"><h1>${name}</h1><pre id="status">loading</pre>` +
            `<script src="/${name}.js"></script></body></html>`,
        );
    });
  }
  const http: Server = createHttpServer(app);
  const rx = createServer({ server: http, heartbeat: false });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    rx,
    async close() {
      await rx.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };
}

/**
 * Launches Chromium headless with a fake microphone playing `wavPath` (looped)
 * and a fresh profile in `profileDir`.
 */
export async function launchChromium(wavPath: string, profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wavPath}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Saves a screenshot of `page` as `<folder>/<name>.png` and prints where. */
export async function screenshot(page: Page, folder: string, name: string): Promise<string> {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`screenshot: ${path}\n`);
  return path;
}

/** Writes a mono 16-bit PCM WAV of a sine (a RIFF header and the samples). */
export function writeSineWav(
  path: string,
  {
    hz,
    sampleRate,
    seconds,
    amplitude = 0.5,
  }: {
    hz: number;
    sampleRate: number;
    seconds: number;
    amplitude?: number;
  },
): void {
  const n = Math.round(sampleRate * seconds);
  const bytes = Buffer.alloc(44 + n * 2);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + n * 2, 4);
  bytes.write('WAVE', 8, 'ascii');
  bytes.write('fmt ', 12, 'ascii');
  bytes.writeUInt32LE(16, 16); // fmt chunk size
  bytes.writeUInt16LE(1, 20); // PCM
  bytes.writeUInt16LE(1, 22); // mono
  bytes.writeUInt32LE(sampleRate, 24);
  bytes.writeUInt32LE(sampleRate * 2, 28); // byte rate
  bytes.writeUInt16LE(2, 32); // block align
  bytes.writeUInt16LE(16, 34); // bits per sample
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const v = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate);
    bytes.writeInt16LE(Math.round(v * 32767), 44 + i * 2);
  }
  writeFileSync(path, bytes);
}

/** Resolves when `check()` is true, polling every `everyMs`; rejects with `what` after `timeoutMs`. */
export async function until(
  check: () => boolean,
  what: string,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function removeFolder(path: string): void {
  rmSync(path, { recursive: true, force: true });
}
