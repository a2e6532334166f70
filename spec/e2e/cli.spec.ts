// The CLI as a user runs it: the built `rxwire` bin (made by `pretest`) in a
// child process, against a real rxwire server or the demo on port 0. Bad
// arguments and bad files are one line on stderr and exit 2, before anything
// connects; connection problems are one line that says what to do.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import { createServer, type RxwireServer } from '../../server/index';
import { sine, toWav, type AudioChunk } from '../../src/audio/index';
import { startDemo, type Demo } from '../../demo/server';
import { startServe } from '../helpers/serve-process';

const bin = resolve(__dirname, '../../dist/cjs/cli/rxwire.js');
let dir: string;
let tone: string;
let toneChunks: AudioChunk[];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { env?: NodeJS.ProcessEnv; node?: string[] } = {}) {
  return new Promise<Run>((done) => {
    execFile(
      process.execPath,
      [...(options.node ?? []), bin, ...args],
      { timeout: 60_000, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The lines of stderr (a trailing newline ends the last one). */
const lines = (text: string) => text.split('\n').slice(0, -1);

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const probe = createHttpServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rxwire-cli-'));
  toneChunks = await lastValueFrom(
    sine(440, { sampleRate: 16000, frameMs: 20, durationMs: 1000 }).pipe(toArray()),
  );
  tone = join(dir, 'tone.wav');
  writeFileSync(tone, toWav(toneChunks));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rxwire stream', () => {
  let http: Server;
  let server: RxwireServer;
  let url: string;
  let upgrades = 0;
  const received: AudioChunk[] = [];

  beforeAll(async () => {
    http = createHttpServer();
    http.on('upgrade', () => upgrades++);
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
    const { code, stdout } = await run(['stream', tone, '--url', url, '--stream-id', '3']);
    expect(stdout).toMatch(
      /50 frames \(1\.00 s\): sent 50, dropped offline 0, dropped for backpressure 0/,
    );
    expect(code).toBe(0);
    expect(received).toHaveLength(50);
    expect(received.every((c) => c.streamId === 3 && c.sampleRate === 16000)).toBe(true);
    const sent = Int16Array.from(toneChunks.flatMap((c) => Array.from(c.samples)));
    const got = Int16Array.from(received.flatMap((c) => Array.from(c.samples)));
    expect(got).toEqual(sent);
  });

  it('refuses bad arguments and bad files in one line each, exit 2, before connecting', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'these are notes, not audio');
    const upgradesBefore = upgrades;
    const cases: Array<[string[], RegExp]> = [
      [
        ['stream', tone, '--url', 'http://chat.example/ws'],
        /^rxwire: --url must be a ws:\/\/ or wss:\/\/ URL, got 'http:\/\/chat\.example\/ws' \(did you mean ws:\/\/chat\.example\/ws\?\)$/,
      ],
      [['stream', tone, '--url', 'not a url'], /^rxwire: --url must be a ws:\/\/ or wss:\/\/ URL/],
      [
        ['stream', tone, '--frame-ms', 'abc'],
        /^rxwire: --frame-ms must be a duration in ms, above 0 and at most 1000, got 'abc'$/,
      ],
      [['stream', tone, '--frame-ms', '0'], /^rxwire: --frame-ms must be .*, got '0'$/],
      [
        ['stream', tone, '--stream-id', '-1'],
        /^rxwire: --stream-id must be an integer from 0 to 4294967295, got '-1'$/,
      ],
      [['stream', tone, '--stream-id', '1.5'], /^rxwire: --stream-id must be .*, got '1\.5'$/],
      [['stream', tone, '--token', ''], /^rxwire: --token is empty$/],
      [['stream', tone, '--bogus'], /^rxwire: unknown option '--bogus'/],
      [['stream', tone, '--port', '3001'], /^rxwire: --port is an option of rxwire serve$/],
      [['stream'], /^rxwire: rxwire stream needs a WAV file/],
      [['dance'], /^rxwire: unknown command 'dance'/],
      [['stream', join(dir, 'nope.wav')], /^rxwire: cannot read .*nope\.wav: no such file$/],
      [['stream', dir], /^rxwire: cannot read .*: it is a directory$/],
      [['stream', text], /^rxwire: cannot stream .*notes\.txt: not a WAV file/],
    ];
    for (const [args, message] of cases) {
      // --url points at a live server: none of these may reach it.
      const withUrl = args.includes('--url') || args.length < 2 ? args : [...args, '--url', url];
      const result = await run(withUrl);
      expect({ args, code: result.code, stderr: lines(result.stderr) }).toEqual({
        args,
        code: 2,
        stderr: [expect.stringMatching(message)],
      });
      expect(result.stdout).toBe('');
    }
    expect(upgrades).toBe(upgradesBefore);
  });

  it('reports several bad arguments together, one line each', async () => {
    const { code, stderr } = await run(['stream', tone, '--frame-ms', 'abc', '--stream-id', '-1']);
    expect(code).toBe(2);
    expect(lines(stderr)).toEqual([
      expect.stringMatching(/^rxwire: --stream-id must be/),
      expect.stringMatching(/^rxwire: --frame-ms must be/),
    ]);
  });

  it('says "not a WAV file" for a text file even when no server runs', async () => {
    const text = join(dir, 'readme.txt');
    writeFileSync(text, 'hello');
    const port = await closedPort();
    const { code, stderr } = await run(['stream', text, '--url', `ws://127.0.0.1:${port}/ws`]);
    expect(code).toBe(2);
    expect(lines(stderr)).toEqual([expect.stringMatching(/not a WAV file/)]);
  });

  it('with nothing listening, names the cause: ECONNREFUSED (from lastClose.cause)', async () => {
    const port = await closedPort();
    const target = `ws://127.0.0.1:${port}/ws`;
    const { code, stderr } = await run(['stream', tone, '--url', target]);
    expect(code).toBe(1);
    expect(stderr).toBe(`rxwire: cannot connect to ${target}: ECONNREFUSED\n`);
  });

  it('with the upgrade refused, names the HTTP status (from lastClose.httpStatus)', async () => {
    const refusing = createHttpServer();
    refusing.on('upgrade', (_request, socket) => {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
    try {
      const target = `ws://127.0.0.1:${(refusing.address() as AddressInfo).port}/ws`;
      const { code, stderr } = await run(['stream', tone, '--url', target]);
      expect(code).toBe(1);
      expect(stderr).toBe(
        `rxwire: cannot connect to ${target}: the server answered HTTP 503 instead of a WebSocket upgrade\n`,
      );
    } finally {
      refusing.closeAllConnections();
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  });

  it('prints the usage for --help (exit 0) and for no command (exit 2)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/rxwire stream <file.wav>/);
    expect(help.stdout).toMatch(/POST \/demo\/login/);
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage:/);
  });
});

describe('rxwire stream against the demo', () => {
  let demo: Demo;
  let url: string;

  beforeAll(async () => {
    demo = await startDemo({ port: 0 });
    url = `ws://127.0.0.1:${demo.port}/ws`;
  });
  afterAll(() => demo.close());

  /** Counts the frames of each session the demo opens from now on, by user name. */
  function framesByUser(): Map<string, number> {
    const counts = new Map<string, number>();
    demo.server.sessions$.subscribe((session) => {
      const name = String((session.user as { name?: string }).name);
      session.audio$.subscribe(() => counts.set(name, (counts.get(name) ?? 0) + 1));
    });
    return counts;
  }

  it('streams without a token: the demo lets the CLI in as a guest', async () => {
    const frames = framesByUser();
    const { code, stdout, stderr } = await run(['stream', tone, '--url', url]);
    expect(stderr).not.toMatch(/rxwire:/);
    expect(stdout).toMatch(/50 frames \(1\.00 s\): sent 50, dropped offline 0/);
    expect(code).toBe(0);
    expect(frames.get('guest')).toBe(50);
  });

  it('streams with a token from POST /demo/login, as the README shows', async () => {
    const frames = framesByUser();
    const login = await fetch(`http://127.0.0.1:${demo.port}/demo/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cli' }),
    });
    const { token } = (await login.json()) as { token: string };
    const { code } = await run(['stream', tone, '--url', url, '--token', token]);
    expect(code).toBe(0);
    expect(frames.get('cli')).toBe(50);
  });

  it('with a token the server refuses, says how to get one (4401), exit 1', async () => {
    const { code, stderr } = await run(['stream', tone, '--url', url, '--token', 'not.a.jwt']);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([
      `rxwire: cannot connect to ${url}: the server wants a valid token (4401 “token invalid”); ` +
        `pass one with --token T (the rxwire demo issues them: POST http://127.0.0.1:${demo.port}/demo/login)`,
    ]);
  });
});

describe('rxwire serve', () => {
  it('runs the demo with the prebuilt page script, on the port --port 0 picked, and stops cleanly on SIGTERM', async () => {
    const { child, url, exited } = startServe(process.execPath, [bin, 'serve', '--port', '0']);
    const origin = await url;
    expect(origin).not.toMatch(/:0$/);
    const page = await fetch(origin);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/app.js">/);
    const script = await fetch(`${origin}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const debug = (await (await fetch(`${origin}/demo/debug`)).json()) as { page: unknown };
    expect(debug.page).toEqual({ ok: true, from: 'prebuilt' });
    expect((await fetch(`${origin}/favicon.ico`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad port in one line, exit 2', async () => {
    for (const port of ['abc', '70000', '-1', '']) {
      const { code, stderr } = await run(['serve', '--port', port]);
      expect({ port, code, stderr }).toEqual({
        port,
        code: 2,
        stderr: `rxwire: --port must be a port number from 0 to 65535, got '${port}'\n`,
      });
    }
    const fromEnv = await run(['serve'], { env: { PORT: 'http' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toBe(`rxwire: PORT must be a port number from 0 to 65535, got 'http'\n`);
    const extra = await run(['serve', 'now', '--realtime']);
    expect(extra.code).toBe(2);
    expect(lines(extra.stderr)).toEqual([
      'rxwire: --realtime is an option of rxwire stream',
      "rxwire: rxwire serve takes no arguments, got 'now'",
    ]);
  });

  it('says the port is taken in one line, exit 1', async () => {
    const taken = createHttpServer();
    await new Promise<void>((r) => taken.listen(0, () => r()));
    try {
      const { port } = taken.address() as AddressInfo;
      const { code, stderr } = await run(['serve', '--port', String(port)]);
      expect(code).toBe(1);
      expect(lines(stderr)).toEqual([
        expect.stringMatching(new RegExp(`^rxwire: cannot listen on port ${port}: EADDRINUSE: `)),
      ]);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('refuses a demo secret shorter than 32 bytes, exit 2', async () => {
    const { code, stderr } = await run(['serve', '--port', '0'], {
      env: { RXWIRE_DEMO_SECRET: 'hunter2' },
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      'rxwire: the demo secret (RXWIRE_DEMO_SECRET) must be at least 32 bytes, got 7\n',
    );
  });

  it('says to install express when it is missing, exit 1', async () => {
    // As in an app that installed rxwire alone: resolving express fails.
    const preload = join(dir, 'no-express.js');
    writeFileSync(
      preload,
      `const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'express') {
    const error = new Error("Cannot find module 'express'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};`,
    );
    const { code, stderr } = await run(['serve', '--port', '0'], { node: ['-r', preload] });
    expect(code).toBe(1);
    expect(stderr).toBe('rxwire: rxwire serve needs express: npm install express@5\n');
  });
});
