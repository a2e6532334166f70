// rxwire over TLS, end to end: an `https` server with a certificate signed by
// a CA made in the test (Debian's `openssl`), the real client over `wss://`
// (the `ws` constructor with that CA trusted) and the HTTP fallback over
// `https://` (a `fetch` on node:https with the CA): messages, request streams
// and bit-exact audio; a client that does not trust the CA never gets a
// session; the README's TLS snippets run verbatim (the readme-tls-* regions);
// and the demo started with TLS_CERT and TLS_KEY serves HTTPS and `wss://`
// (the built demo, as `npm start` runs it, in a child process).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import { WebSocket } from 'ws';
import { firstValueFrom, range, take, toArray } from 'rxjs';
import {
  createClient,
  type AudioChunk,
  type Client,
  type ClientOptions,
  type WebSocketConstructor,
} from '../../src/index.js';
import { sine } from '../../src/audio/index.js';
import type { Protocol } from '../../src/protocol/index.js';
import { createServer, type Session } from '../../server/index.js';
import { Disposer, connected, until, within } from '../helpers/server-harness.js';
import {
  makeCertificate,
  trustingFetch,
  trustingWebSocket,
  type TestCertificate,
} from '../helpers/tls.js';

interface Api extends Protocol {
  client: { say: { n: number; text: string } };
  server: { said: { n: number; text: string } };
  requests: { count: { request: { to: number }; response: number } };
}

jest.setTimeout(30_000);
const disposer = new Disposer();
afterEach(() => disposer.drain());

let certificate: TestCertificate;
beforeAll(() => {
  certificate = makeCertificate();
});
afterAll(() => certificate?.remove());

/** An https server on a free loopback port with rxwire (and its HTTP fallback) attached. */
async function startTlsServer() {
  const https = createHttpsServer({ cert: certificate.cert, key: certificate.key });
  await new Promise<void>((done) => https.listen(0, '127.0.0.1', done));
  const server = createServer<Api>({ server: https, fallback: true, heartbeat: false });
  disposer.add(async () => {
    await server.close();
    https.closeAllConnections();
    await new Promise<void>((done) => https.close(() => done()));
  });
  server.handle('count', ({ to }) => range(1, to));
  const sessions: Session<Api>[] = [];
  server.sessions$.subscribe((session) => {
    sessions.push(session);
    session.on('say').subscribe(({ n, text }) => {
      session.send('said', { n, text: text.toUpperCase() });
    });
  });
  const { port } = https.address() as AddressInfo;
  return { server, sessions, url: `wss://localhost:${port}/ws` };
}

function connect(url: string, options: ClientOptions<Api['server']>): Client<Api> {
  const client = createClient<Api>({ url, heartbeat: false, ...options });
  disposer.add(() => client.dispose());
  return client;
}

/** Sends `count` numbered messages and resolves with the server's answers, in arrival order. */
async function exchange(client: Client<Api>, count: number): Promise<Array<{ n: number }>> {
  const answers = firstValueFrom(client.on('said').pipe(take(count), toArray()));
  for (let n = 0; n < count; n++) client.send('say', { n, text: `message ${n}` });
  return within(answers, 10_000, `${count} answers`);
}

const numbered = (count: number) =>
  Array.from({ length: count }, (_, n) => ({ n, text: `MESSAGE ${n}` }));

describe('over TLS', () => {
  it('connects over wss:// and carries messages and request streams on a TLS socket', async () => {
    const { sessions, url } = await startTlsServer();
    const client = connect(url, { WebSocketCtor: trustingWebSocket(certificate.ca) });
    const state = await connected(client);
    expect(state.transport).toBe('websocket');
    const session = sessions[0]!;
    expect(session.id).toBe(state.sessionId);
    expect((session.request.socket as TLSSocket).encrypted).toBe(true);

    expect(await exchange(client, 100)).toEqual(numbered(100));
    const counted = client.request('count', { to: 5 }).pipe(toArray());
    expect(await within(firstValueFrom(counted), 10_000, 'the request')).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs the HTTP fallback over https:// (event stream and POSTs) with the same API', async () => {
    const { sessions, url } = await startTlsServer();
    const https = trustingFetch(certificate.ca);
    disposer.add(() => https.close());
    const client = connect(url, { transports: ['http'], fetch: https.fetch });
    const state = await connected(client);
    expect(state.transport).toBe('http');
    const session = sessions[0]!;
    expect(session.transport).toBe('http');
    expect((session.request.socket as TLSSocket).encrypted).toBe(true);

    expect(await exchange(client, 100)).toEqual(numbered(100));
    const counted = client.request('count', { to: 3 }).pipe(toArray());
    expect(await within(firstValueFrom(counted), 10_000, 'the request')).toEqual([1, 2, 3]);
  });

  it.each([
    ['pcm16 mono at 16 kHz', { format: 'pcm16' as const, sampleRate: 16_000, channels: 1 }],
    ['float32 stereo at 48 kHz', { format: 'float32' as const, sampleRate: 48_000, channels: 2 }],
  ])('carries audio bit-exactly over wss:// (%s)', async (_name, format) => {
    const { sessions, url } = await startTlsServer();
    const client = connect(url, {
      WebSocketCtor: trustingWebSocket(certificate.ca),
      // Sent faster than real time: the high-water mark is not what this checks.
      audio: { highWaterMarkMs: 60_000 },
    });
    await connected(client);
    const sent = await firstValueFrom(
      sine(997, { ...format, durationMs: 1_000, realtime: false, streamId: 7 }).pipe(toArray()),
    );
    const received = firstValueFrom(sessions[0]!.audioStream(7).pipe(take(sent.length), toArray()));
    for (const chunk of sent) client.audio.next(chunk);
    const chunks = await within(received, 10_000, `${sent.length} chunks`);
    expect(chunks.map(header)).toEqual(sent.map(header));
    expect(bytes(chunks).equals(bytes(sent))).toBe(true);
    expect(chunks.every((c) => c.samples.constructor === sent[0]!.samples.constructor)).toBe(true);
  });

  it.each([
    ['wss://', { WebSocketCtor: WebSocket as unknown as WebSocketConstructor }],
    ['https://', { transports: ['http' as const], fetch: globalThis.fetch }],
  ])(
    'a client that does not trust the CA gets no session over %s, and says why',
    async (_scheme, options) => {
      const { sessions, url } = await startTlsServer();
      const client = connect(url, {
        ...options,
        reconnect: { initialDelay: 10, maxDelay: 10, jitter: 0, maxAttempts: 2 },
      });
      await until(() => client.state.status === 'error', 15_000, 'the client to give up');
      const { error, lastClose } = client.state;
      expect(error?.code).toBe('RXWIRE_RECONNECT_FAILED');
      expect(lastClose?.code).toBe(1006);
      expect(sessions).toEqual([]);
      // The last attempt's ConnectionClosedError carries the socket's TLS error.
      expect(causes(error)).toMatch(/certificate/);
    },
  );
});

describe('the README', () => {
  it('serves wss:// from an https server, and a Node client that trusts a private CA connects', async () => {
    const app = express();
    app.get('/hello', (_req, res) => res.send('hello over https'));
    const port = 0;
    const cwd = process.cwd();
    process.chdir(certificate.dir); // where ca.pem, cert.pem and key.pem are
    try {
      // #region readme-tls-server
      const https = createHttpsServer(
        { cert: readFileSync('cert.pem'), key: readFileSync('key.pem') },
        app, // Express keeps serving its routes on the same port
      );
      const server = createServer({ server: https }); // WebSocket at wss://<host>/ws
      https.listen(port);
      // #endregion
      disposer.add(async () => {
        await server.close();
        https.closeAllConnections();
        await new Promise<void>((done) => https.close(() => done()));
      });
      const { port: listening } = await server.ready();
      const url = `wss://localhost:${listening}/ws`;

      // #region readme-tls-client
      class TrustingWebSocket extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols ?? [], { ca: readFileSync('ca.pem') });
        }
      }
      const client = createClient({ url, WebSocketCtor: TrustingWebSocket });
      // #endregion
      disposer.add(() => client.dispose());
      const state = await connected(client);
      expect(server.sessions.get(state.sessionId!)?.request.socket).toHaveProperty(
        'encrypted',
        true,
      );
      const https2 = trustingFetch(certificate.ca);
      disposer.add(() => https2.close());
      const page = await https2.fetch(`https://localhost:${listening}/hello`);
      expect(await page.text()).toBe('hello over https');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('the demo with TLS_CERT and TLS_KEY', () => {
  const root = resolve(__dirname, '../..');
  let selfSigned: { dir: string; cert: string; certPath: string; keyPath: string };
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'rxwire-demo-tls-'));
    // The README's command for a self-signed localhost certificate, verbatim.
    execFileSync(
      'sh',
      [
        '-c',
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \\\n' +
          '  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \\\n' +
          '  -keyout key.pem -out cert.pem',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const certPath = join(dir, 'cert.pem');
    selfSigned = {
      dir,
      cert: readFileSync(certPath, 'utf8'),
      certPath,
      keyPath: join(dir, 'key.pem'),
    };
  });
  afterAll(() => selfSigned && rmSync(selfSigned.dir, { recursive: true, force: true }));

  /** Runs the built demo as `npm start` does (through the CLI); resolves with its https and wss URLs. */
  async function startDemo() {
    const child = spawn(process.execPath, [join(root, 'dist/cjs/cli/rxwire.js'), 'serve'], {
      env: {
        ...process.env,
        PORT: '0',
        TLS_CERT: selfSigned.certPath,
        TLS_KEY: selfSigned.keyPath,
        RXWIRE_DEMO_SECRET: 'a demo secret that is long enough for HS256 keys',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    disposer.add(() => child.exitCode === null && child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await until(() => /rxwire demo on https:/.test(output), 20_000, 'the start line');
    const [, base, ws] =
      /rxwire demo on (https:\/\/localhost:\d+) \(WebSocket at (wss:\/\/[^;]+)[;)]/.exec(output)!;
    const https = trustingFetch(selfSigned.cert);
    disposer.add(() => https.close());
    const login = await https.fetch(`${base}/demo/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'tls' }),
    });
    const { token } = (await login.json()) as { token: string };
    return { child, exited, base: base!, ws: ws!, https, token };
  }

  it('serves the page over HTTPS and sessions over wss://, and stops cleanly', async () => {
    const demo = await startDemo();
    const page = await demo.https.fetch(`${demo.base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/rxwire/);

    const client = createClient<DemoApi>({
      url: demo.ws,
      WebSocketCtor: trustingWebSocket(selfSigned.cert),
      token: demo.token,
      reconnect: false,
    });
    disposer.add(() => client.dispose());
    await connected(client);
    const reply = client.request('chat', { text: 'over TLS' }).pipe(toArray());
    const tokens = await within(firstValueFrom(reply), 15_000, 'the chat reply');
    expect(tokens.map((t) => t.token).join('')).toMatch(/You said "over TLS"/);

    client.dispose();
    demo.child.kill('SIGTERM');
    expect(await within(demo.exited, 15_000, 'the demo to exit')).toBe(0);
  });

  it('is reached by a Node client started with NODE_EXTRA_CA_CERTS, over wss:// and https://', async () => {
    const demo = await startDemo();
    // The built client with plain `ws` and Node's own fetch: only the environment trusts the CA.
    const script = `
      const WebSocket = require('ws');
      const { filter, firstValueFrom } = require('rxjs');
      const { createClient } = require('./dist/cjs/src/index.js');
      (async () => {
        for (const options of [{ WebSocketCtor: WebSocket }, { transports: ['http'] }]) {
          const client = createClient({ url: process.argv[1], token: process.argv[2], reconnect: false, ...options });
          const state = await firstValueFrom(client.state$.pipe(filter((s) => s.status !== 'connecting')));
          console.log(state.status, state.transport);
          client.dispose();
        }
      })();`;
    const run = (env: Record<string, string>) =>
      new Promise<string>((done, fail) =>
        execFile(
          process.execPath,
          ['-e', script, demo.ws, demo.token],
          { cwd: root, env: { ...process.env, ...env }, timeout: 20_000 },
          (error, stdout) => (error ? fail(error) : done(stdout)),
        ),
      );
    expect(await run({ NODE_EXTRA_CA_CERTS: selfSigned.certPath })).toBe(
      'connected websocket\nconnected http\n',
    );
    expect(await run({})).toBe('disconnected websocket\ndisconnected http\n');
  });
});

interface DemoApi extends Protocol {
  requests: { chat: { request: { text: string }; response: { token: string } } };
}

/** What the frame header carries of a chunk. */
const header = ({ seq, timestamp, sampleRate, channels, streamId, samples }: AudioChunk) => ({
  seq,
  timestamp,
  sampleRate,
  channels,
  streamId,
  length: samples.length,
});

/** The samples of `chunks`, back to back, as bytes. */
const bytes = (chunks: AudioChunk[]): Buffer =>
  Buffer.concat(
    chunks.map((c) => Buffer.from(c.samples.buffer, c.samples.byteOffset, c.samples.byteLength)),
  );

/** The messages of an error and of its causes, one per line. */
function causes(error: unknown): string {
  const lines: string[] = [];
  // Not `instanceof Error`: Node's own errors come from outside jest's sandbox.
  for (let e = error as Error | undefined; e?.message !== undefined; e = e.cause as Error) {
    lines.push(`${e.name}: ${e.message}`);
  }
  return lines.join('\n');
}
