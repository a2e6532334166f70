// One app subscriber must not take the server down (issue 19): a payload
// without the field a subscriber reads made it throw, RxJS reported the error
// as unhandled, and Node ended the process with every session on it. Over
// real sockets: the error is logged with the session and the type, the peer
// gets $error RXWIRE_HANDLER_ERROR, the process and every other session keep
// running, and the session's later messages still reach the subscriber.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { config, filter, firstValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import { createClient, type Client, type Protocol, type RxwireError } from 'rxwire';
import { Disposer, connected, startServer, until, within } from '../helpers/server-harness';

interface P extends Protocol {
  client: { fragile: { n: number } | null; note: string };
  server: { seen: number };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());

function client(url: string): Client<P> {
  const c = createClient<P>({ url, WebSocketCtor: WebSocket });
  disposer.add(() => c.dispose());
  return c;
}

function logger() {
  const entries: Array<{ level: string; message: string; context: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (message: string, context: Record<string, unknown> = {}) =>
      entries.push({ level, message, context });
  return { entries, logger: { warn: at('warn'), error: at('error'), info: at('info') } };
}

it("a throwing subscriber of 'fragile': logged, the peer gets $error, later messages and other sessions go on", async () => {
  const { entries, logger: log } = logger();
  const { server, url } = await startServer<P>(disposer, { logger: log });
  const seen: number[] = [];
  server.sessions$.subscribe((session) => {
    session.on('fragile').subscribe((p) => {
      seen.push(p!.n); // throws on null: the bug a client can trigger
      session.send('seen', p!.n);
    });
  });
  const a = client(url);
  const b = client(url);
  await connected(a);
  await connected(b);
  const error = firstValueFrom(a.errors$);
  a.send('fragile', null);
  const remote = (await within(error, 10_000, "the $error for 'fragile'")) as RxwireError & {
    replyTo?: string;
  };
  expect(remote.code).toBe('RXWIRE_HANDLER_ERROR');
  expect(remote.message).toMatch(/'fragile'/);
  expect(remote.message).not.toMatch(/TypeError/); // the server's internals stay on the server
  const logged = entries.find((e) => e.message.includes("a subscriber of 'fragile' threw"));
  expect(logged?.context).toMatchObject({ session: a.state.sessionId, type: 'fragile' });
  expect(String(logged?.context.error)).toMatch(/TypeError/);

  // The same session's later messages still reach the subscriber; the other session is fine.
  const echoes = firstValueFrom(a.on('seen').pipe(take(2), toArray()));
  a.send('fragile', { n: 1 });
  a.send('fragile', { n: 2 });
  expect(await within(echoes, 10_000, 'two echoes')).toEqual([1, 2]);
  const other = firstValueFrom(b.on('seen'));
  b.send('fragile', { n: 3 });
  expect(await within(other, 10_000, 'the other session')).toBe(3);
  expect(seen).toEqual([1, 2, 3]);
  expect(server.sessions.size).toBe(2);
});

it("passes the error on to the app's own config.onUnhandledError", async () => {
  const reported: unknown[] = [];
  const saved = config.onUnhandledError;
  config.onUnhandledError = (error) => reported.push(error);
  disposer.add(() => (config.onUnhandledError = saved));
  const { server, url } = await startServer<P>(disposer);
  server.sessions$.subscribe((session) =>
    session.on('note').subscribe((text) => {
      throw new Error(`cannot handle ${text}`);
    }),
  );
  const a = client(url);
  await connected(a);
  const error = firstValueFrom(a.errors$.pipe(filter((e) => e.code === 'RXWIRE_HANDLER_ERROR')));
  a.send('note', 'this');
  await within(error, 10_000, '$error');
  await until(() => reported.length === 1, 10_000, 'the app handler');
  expect((reported[0] as Error).message).toBe('cannot handle this');
});

it('contains throwing sessions$, closed$ and audio subscribers too', async () => {
  const { entries, logger: log } = logger();
  const { server, url } = await startServer<P>(disposer, { logger: log });
  server.sessions$.subscribe(() => {
    throw new Error('sessions$ subscriber');
  });
  server.sessions$.subscribe((session) =>
    session.closed$.subscribe(() => {
      throw new Error('closed$ subscriber');
    }),
  );
  const a = client(url);
  await connected(a);
  a.disconnect();
  await until(() => server.sessions.size === 0, 10_000, 'the session to end');
  await until(
    () => entries.some((e) => e.message.includes("'$closed' threw")),
    10_000,
    'the closed$ report',
  );
  expect(entries.some((e) => e.message.includes("'$sessions' threw"))).toBe(true);
  // Still serving.
  const b = client(url);
  await connected(b);
});

it('a plain Node process survives a client that makes a subscriber throw (the way it was found)', () => {
  const root = resolve(__dirname, '../..');
  const script = `
    const { createServer } = require(${JSON.stringify(resolve(root, 'dist/cjs/server/index.js'))});
    const { createClient } = require(${JSON.stringify(resolve(root, 'dist/cjs/src/index.js'))});
    const WebSocket = require(${JSON.stringify(require.resolve('ws'))});
    const server = createServer({ port: 0, host: '127.0.0.1' });
    server.sessions$.subscribe((s) => s.on('fragile').subscribe((p) => p.n.toFixed()));
    server.ready().then(({ port }) => {
      const client = createClient({ url: 'ws://127.0.0.1:' + port + '/ws', WebSocketCtor: WebSocket });
      client.errors$.subscribe((e) => {
        // Still alive after the report fired: prove it a tick later, then leave cleanly.
        setTimeout(() => { console.log('alive ' + e.code); client.dispose(); server.close(); }, 50);
      });
      client.send('fragile', null);
    });`;
  const out = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(out.trim()).toBe('alive RXWIRE_HANDLER_ERROR');
});
