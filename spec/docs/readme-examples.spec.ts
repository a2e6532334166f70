// The README's protocol, client, server, delivery and fallback examples, run
// as written (spec/docs/readme-blocks.spec.ts checks they are verbatim): the
// server example serves the client example, in one process, on a free port.
// What the examples leave to the reader (`auth`, `render`, `llm`, the buttons)
// is defined here, around them.
import type { Protocol } from 'rxwire';
import { createClient } from 'rxwire';
import express from 'express';
import { createServer as createHttpServer } from 'node:http';
import { mergeMap, map } from 'rxjs';
import { createServer } from 'rxwire/server';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { Subject, filter, finalize, firstValueFrom, interval, take, timeout } from 'rxjs';
import type { ConnectionStatus } from 'rxwire';

// #region readme-protocol
export interface ChatProtocol extends Protocol {
  client: { typing: { on: boolean }; rating: { stars: number } }; // client -> server messages
  server: { presence: { online: number } }; // server -> client messages
  requests: {
    chat: { request: { text: string }; response: { token: string } }; // request streams
  };
}
// #endregion

const SECRET = 'readme-examples-secret-that-is-32-bytes-or-more';
const until = <T>(source: Subject<T>, test: (value: T) => boolean) =>
  firstValueFrom(source.pipe(filter(test), timeout(10_000)));

/** A button as the examples use it: code sets `onclick`, the test clicks. */
class Button {
  onclick: (() => unknown) | null = null;
  click(): unknown {
    return this.onclick?.();
  }
}

describe('README: server and client', () => {
  const env = { ...process.env };
  const events = new Subject<string>();
  const tokens: string[] = [];
  let cancelled = 0;
  const cleanup: Array<() => unknown> = [];
  const BrowserWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
    process.env = env;
    (globalThis as { WebSocket?: unknown }).WebSocket = BrowserWebSocket;
  });

  it('the server example serves the client example: messages, a confirmed send, a stream, Stop', async () => {
    process.env.JWT_SECRET = SECRET;
    process.env.PORT = '0';
    const log = (id: string, on: boolean) => events.next(`typing ${on} from ${id}`);
    const llm = {
      stream: (text: string, _user: unknown) =>
        interval(20).pipe(
          take(50),
          map((i) => `${text.length}:${i}`),
          finalize(() => (cancelled += 1)),
        ),
    };

    // #region readme-server
    const app = express();
    const http = createHttpServer(app); // Express and WebSocket share one port
    const server = createServer<ChatProtocol>({
      server: http,
      jwt: { secret: new TextEncoder().encode(process.env.JWT_SECRET!), audience: 'my-app' },
      allowedOrigins: ['https://app.example'],
    });

    // Request streams: each value is a $next frame; errors become $error; $cancel unsubscribes.
    server.handle('chat', ({ text }, session) =>
      llm.stream(text, session.user).pipe(map((token) => ({ token }))),
    );

    // Typed per-session streams.
    server.sessions$
      .pipe(mergeMap((session) => session.on('typing').pipe(map((t) => ({ session, t })))))
      .subscribe(({ session, t }) => log(session.id, t.on));

    server.sessions$.subscribe(() =>
      server.broadcast('presence', { online: server.sessions.size }),
    );
    http.listen(Number(process.env.PORT ?? 3001));
    // #endregion
    cleanup.push(
      () => new Promise<void>((resolve) => http.close(() => resolve())),
      () => server.close(),
    );
    const { port } = await server.ready();

    // A browser's WebSocket for the client example (Node 20 has none), pointed at this server.
    (globalThis as { WebSocket?: unknown }).WebSocket = class extends WebSocket {
      constructor(_url: string, protocols?: string | string[]) {
        super(`ws://127.0.0.1:${port}/ws`, protocols);
      }
    };
    const auth = {
      currentToken: () =>
        new SignJWT({ sub: 'ada' })
          .setProtectedHeader({ alg: 'HS256' })
          .setAudience('my-app')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(SECRET)),
    };
    const render = (status: ConnectionStatus, ..._rest: unknown[]) => events.next(status);
    const setOnline = (online: number) => events.next(`online ${online}`);
    const thank = () => events.next('thanked');
    const append = (token: string) => tokens.push(token);
    const showError = (error: unknown) => events.next(`error ${String(error)}`);
    const rateButton = new Button();
    const stopButton = new Button();
    const connected = until(events, (e) => e === 'connected');
    const online = until(events, (e) => e === 'online 1');
    const typing = until(events, (e) => e.startsWith('typing true from'));

    // #region readme-client
    const client = createClient<ChatProtocol>({
      url: 'wss://app.example/ws', // default in a browser: ws(s)://<page host>/ws
      token: () => auth.currentToken(), // called before every attempt: refresh here
    });

    client.state$.subscribe((s) => render(s.status, s.attempt, s.retryInMs, s.latencyMs));
    client.on('presence').subscribe(({ online }) => setOnline(online));
    client.send('typing', { on: true }); // exactly once, in order, also across dropped connections

    // Resolves once the server has it; rejects if the client gives up first.
    rateButton.onclick = () => client.sendConfirmed('rating', { stars: 5 }).then(thank, showError);

    // A request is a cold stream of $next values until $complete.
    const reply = client
      .request('chat', { text: 'Hello!' }, { timeout: 10_000 })
      .subscribe({ next: ({ token }) => append(token), error: showError });
    stopButton.onclick = () => reply.unsubscribe(); // sends $cancel: the server's handler stops
    // #endregion
    cleanup.push(() => client.dispose());

    await connected;
    await online;
    await typing;
    const thanked = until(events, (e) => e === 'thanked');
    await rateButton.click();
    await thanked;
    await firstValueFrom(
      interval(10).pipe(
        filter(() => tokens.length >= 3),
        timeout(10_000),
      ),
    );
    stopButton.click();
    // The server's handler is unsubscribed: its stream's finalize ran, and no more tokens come.
    await firstValueFrom(
      interval(10).pipe(
        filter(() => cancelled === 1),
        timeout(10_000),
      ),
    );
    expect(tokens.length).toBeLessThan(50);
    expect(tokens[0]).toBe('6:0');
    expect(client.state.status).toBe('connected');
  });
});

it('README: the Node client with ws connects to RXWIRE_URL', async () => {
  const rx = createServer<ChatProtocol>({ port: 0, host: '127.0.0.1' });
  const { port } = await rx.ready();
  const env = process.env.RXWIRE_URL;
  process.env.RXWIRE_URL = `ws://127.0.0.1:${port}/ws`;
  try {
    // #region readme-node-client
    const client = createClient<ChatProtocol>({
      url: process.env.RXWIRE_URL ?? 'ws://localhost:3001/ws',
      WebSocketCtor: WebSocket,
    });
    // #endregion
    const state = await firstValueFrom(
      client.state$.pipe(
        filter((s) => s.status === 'connected'),
        timeout(10_000),
      ),
    );
    expect(state.sessionId).toBeDefined();
    client.dispose();
  } finally {
    process.env.RXWIRE_URL = env;
    await rx.close();
  }
});

it('README: the delivery example (resync on a new session, expired sessions, a confirmed send)', async () => {
  const server = createServer<ChatProtocol>({ port: 0, host: '127.0.0.1' });
  const { port } = await server.ready();
  const client = createClient<ChatProtocol>({
    url: `ws://127.0.0.1:${port}/ws`,
    WebSocketCtor: WebSocket,
  });
  const reloadState = jest.fn();
  const log = jest.fn();
  const ratings: number[] = [];
  server.sessions$.subscribe((s) => s.on('rating').subscribe(({ stars }) => ratings.push(stars)));
  try {
    // #region readme-delivery
    client.sessions$.subscribe(({ resumed, previousSessionId }) => {
      if (!resumed && previousSessionId) reloadState(); // the server started over: resync
    });
    server.sessions$.subscribe((session) => {
      session.closed$.subscribe(({ expired }) => expired && log('client never came back'));
    });
    await client.sendConfirmed('rating', { stars: 4 }, { timeout: 10_000 }); // resolves once the server has it
    // #endregion
    expect(ratings).toEqual([4]); // delivered before the promise resolved
    expect(reloadState).not.toHaveBeenCalled();
  } finally {
    client.dispose();
    await server.close();
  }
});

it('README: the HTTP fallback example (Node has no WebSocket: the client uses HTTP)', async () => {
  const http = createHttpServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  const url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/ws`;
  const shown: string[] = [];
  const show = (transport: string) => shown.push(transport);
  // #region readme-fallback
  const server = createServer({ server: http, fallback: true }); // also serves GET/POST /ws/http
  const client = createClient({ url, transports: ['websocket', 'http'] });
  client.state$.subscribe((s) => show(s.transport)); // 'websocket' | 'http'
  server.sessions$.subscribe((s) => show(s.transport));
  // #endregion
  try {
    await firstValueFrom(
      client.state$.pipe(
        filter((s) => s.status === 'connected'),
        timeout(10_000),
      ),
    );
    expect(shown).toContain('http');
    expect(shown.filter((t) => t === 'websocket')).toHaveLength(0);
  } finally {
    client.dispose();
    await server.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
});
