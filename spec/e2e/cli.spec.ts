// The CLI as a user runs it: the built `rxwire` bin (made by `pretest`) in a
// child process, against a real rxwire server on port 0.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type RxwireServer } from '../../server/index';
import { sine, toWav, type AudioChunk } from '../../src/audio/index';
import { lastValueFrom, toArray } from 'rxjs';

const bin = resolve(__dirname, '../../dist/cjs/cli/rxwire.js');
let dir: string;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxwire-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rxwire stream', () => {
  let server: RxwireServer;
  let url: string;
  const received: AudioChunk[] = [];

  beforeAll(async () => {
    const http = createHttpServer();
    server = createServer({ server: http });
    server.sessions$.subscribe((s) => s.audio$.subscribe((c) => received.push(c)));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`;
  });
  afterAll(async () => {
    await server.close();
    server.httpServer.close();
  });

  it('streams a WAV file as binary frames and reports what was sent', async () => {
    const chunks = await lastValueFrom(
      sine(440, { sampleRate: 16000, frameMs: 20, durationMs: 1000 }).pipe(toArray()),
    );
    const file = join(dir, 'tone.wav');
    writeFileSync(file, toWav(chunks));
    const { code, stdout } = await run(['stream', file, '--url', url, '--stream-id', '3']);
    expect(stdout).toMatch(
      /50 frames \(1\.00 s\): sent 50, dropped offline 0, dropped for backpressure 0/,
    );
    expect(code).toBe(0);
    expect(received).toHaveLength(50);
    expect(received.every((c) => c.streamId === 3 && c.sampleRate === 16000)).toBe(true);
    const sent = Int16Array.from(chunks.flatMap((c) => Array.from(c.samples)));
    const got = Int16Array.from(received.flatMap((c) => Array.from(c.samples)));
    expect(got).toEqual(sent);
  });

  it('fails clearly when the file is missing or nothing listens', async () => {
    const missing = await run(['stream', join(dir, 'nope.wav'), '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
    const file = join(dir, 'tone.wav');
    const refused = await run(['stream', file, '--url', 'ws://127.0.0.1:1/ws']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect/);
  });

  it('prints usage for bad arguments', async () => {
    const bad = await run(['dance']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'dance'/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/rxwire stream <file.wav>/);
  });
});

describe('rxwire serve', () => {
  it('runs the demo server and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((done, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`no start line in: ${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /rxwire demo on (http:\/\/localhost:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          done(m[1]!);
        }
      });
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/rxwire/);
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
