// The demo server behind `npm start` and `npx rxwire serve`: Express and rxwire
// on one port. Express serves the page (its script prebuilt by `npm run build`,
// see bundle.ts), `POST /demo/login` (short-lived demo JWTs),
// `POST /demo/outage` (drop every connection, or refuse them for a while) and
// `GET /demo/debug` (counters for the browser tests). rxwire serves the `chat`
// request stream, presence broadcasts and the microphone's server view, over
// WebSocket at `/ws` and over the HTTP fallback transport at `/ws/http`
// (`fallback: true`; the page picks with `?transports=`). A connection without
// a token is let in as a guest (`npx rxwire stream` needs none); a token must
// be a valid demo JWT (an expired one closes 4401).
import express from 'express';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { SignJWT } from 'jose';
import { defer, skip, tap } from 'rxjs';
import { CloseCode, ErrorCode, RxwireTypeError, type Logger } from '../src/protocol/index.js';
import { createServer, verifyJwt, type Cluster, type RxwireServer } from '../server/index.js';
import { serveAudioView } from './audio-view.js';
import { loadPageScripts, type PageBundle } from './bundle.js';
import { replyTokens } from './chat.js';
import { favicon, renderPage } from './page.js';
import { renderReactPage } from './react/page.js';
import type {
  AudioView,
  DemoProtocol,
  LoginRequest,
  LoginResponse,
  OutageRequest,
} from './protocol.js';

export interface DemoOptions {
  /** Port to listen on (0 picks a free one). @default 3001 */
  port?: number;
  /** HS256 secret for demo tokens, at least 32 bytes. @default a random one, reported in `secretGenerated` */
  secret?: string;
  /** Where the rxwire server and the demo report. @default silent */
  logger?: Partial<Logger>;
  /** Pause between two tokens of a chat reply, in ms. @default 60 */
  chatDelayMs?: number;
  /**
   * Start with WebSocket upgrades blocked: every upgrade is answered 403, as by
   * a proxy that does not let WebSocket through, while plain HTTP (the page,
   * the login, the HTTP transport's event stream and POSTs) keeps working.
   * `demo.blockWebSocket()` changes it later. @default false
   */
  blockWebSocket?: boolean;
  /**
   * Serve HTTPS (and WebSocket over TLS, `wss://`) with this certificate
   * chain and private key, in PEM. @default plain HTTP
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Run as one node of a cluster (`redisCluster(...)` from rxwire/cluster):
   * sessions move between the nodes, presence counts every node's sessions.
   * Give every node the same `secret` so a token from one login works on all.
   * @default none // a single node
   */
  cluster?: Cluster;
}

/** One `chat` request as the server handled it. */
export interface ChatRecord {
  /** Counts from 1 across the demo's life. */
  n: number;
  sessionId: string;
  text: string;
  /** The tokens sent so far, in order. */
  tokens: string[];
  /** `'cancelled'`: the client unsubscribed ($cancel, or its session ended) and the handler was unsubscribed. */
  state: 'running' | 'completed' | 'cancelled' | 'failed';
}

/** What `GET /demo/debug` answers (and `demo.debug()` returns). */
export interface DemoDebug {
  /** Sessions with a live connection (the presence count). */
  online: number;
  /** Every session, also those waiting to be resumed (`connected: false`). */
  sessions: Array<{
    id: string;
    name: string;
    connected: boolean;
    /** What carries the session (the last one while it waits to be resumed). */
    transport: 'websocket' | 'http';
    audio: AudioView | null;
  }>;
  /** The last 100 chat requests, oldest first. */
  chats: ChatRecord[];
  /** Tokens issued by `POST /demo/login`, and how many of them were issued already expired. */
  logins: { issued: number; expired: number };
  outage: {
    /** Sessions closed by `drop` or `refuse`. */
    dropped: number;
    /** Upgrades answered 503 while refusing. */
    refused: number;
    /** Refusing until then (ms since the epoch), or null. */
    refusingUntil: number | null;
  };
  webSocket: {
    /** Upgrades are answered 403 (`blockWebSocket`); the HTTP transport still works. */
    blocked: boolean;
    /** Upgrades answered 403 because of it. */
    refused: number;
  };
  /**
   * Whether the page script is there and where it came from: `prebuilt` by
   * `npm run build` (always, in an installed package), or bundled from
   * `source` at start (running from the repository without a build); if not, why.
   */
  page: { ok: true; from: 'prebuilt' | 'source' } | { ok: false; reason: string };
}

export interface Demo {
  /** http://localhost:<port>, or https:// with `tls` */
  url: string;
  port: number;
  /** The secret used to sign tokens, and whether it was generated. */
  secret: string;
  secretGenerated: boolean;
  /** The rxwire server (sessions$, sessions, broadcast…). */
  server: RxwireServer<DemoProtocol>;
  /** The counters `GET /demo/debug` answers with. */
  debug(): DemoDebug;
  /** What `POST /demo/outage` does; returns how many sessions it closed. */
  outage(request: OutageRequest): number;
  /**
   * Blocks WebSocket upgrades (403) or lets them through again. Sessions
   * already on a WebSocket are left alone.
   */
  blockWebSocket(blocked: boolean): void;
  /** Closes sessions with 1001, then the http server. */
  close(): Promise<void>;
}

const issuer = 'rxwire-demo';
/** Lifetime of a demo token, in seconds, unless the login asks for another. */
const tokenLifetime = 15 * 60;
const wsPath = '/ws';

/**
 * Starts the demo: Express serving the page, `POST /demo/login`,
 * `POST /demo/outage` and `GET /demo/debug`, and an rxwire server on the same
 * port at `/ws` (WebSocket) and `/ws/http` (the HTTP fallback transport).
 *
 * @example
 * ```ts
 * const demo = await startDemo({ port: 0 });
 * console.log(demo.url);
 * await demo.close();
 * ```
 */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const secretText = options.secret ?? randomBytes(32).toString('base64url');
  const secret = new TextEncoder().encode(secretText);
  if (secret.length < 32) {
    // Checked here rather than on every connection: verifyJwt refuses short HMAC keys.
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `the demo secret (RXWIRE_DEMO_SECRET) must be at least 32 bytes, got ${secret.length}`,
    );
  }
  const log = options.logger;
  const scripts = await loadPageScripts();
  for (const [name, script] of scripts) {
    if (!script.ok) log?.warn?.(`demo page script ${name}.js unavailable: ${script.reason}`);
  }
  const appScript: PageBundle = scripts.get('app') ?? { ok: false, reason: 'no page script app' };
  const reactScript: PageBundle = scripts.get('react') ?? {
    ok: false,
    reason: 'no page script react',
  };

  const chats: ChatRecord[] = [];
  let chatCount = 0;
  const logins = { issued: 0, expired: 0 };
  const outageCounts = { dropped: 0, refused: 0 };
  let refusingUntil = 0;
  let webSocketBlocked = options.blockWebSocket ?? false;
  let blockedUpgrades = 0;
  const views = new Map<string, AudioView>();

  const app = express();
  app.use(express.json({ limit: '4kb' }));
  app.get('/', (_req, res) => {
    res.type('html').send(renderPage(appScript.ok ? undefined : appScript.reason));
  });
  for (const [name, script] of scripts) {
    app.get(`/${name}.js`, (_req, res) => {
      if (script.ok) res.type('application/javascript').send(script.code);
      else res.status(503).type('text/plain').send(script.reason);
    });
  }
  // Browsers ask for /favicon.ico whatever the page says; the page links the same icon.
  app.get(['/favicon.ico', '/favicon.svg'], (_req, res) => {
    res.type('image/svg+xml').set('Cache-Control', 'max-age=86400').send(favicon);
  });
  // The same demo on rxwire/react (demo/react/); /react.js is served by the loop above.
  app.get('/react', (_req, res) => {
    res.type('html').send(renderReactPage(reactScript.ok ? undefined : reactScript.reason));
  });

  app.post('/demo/login', async (req, res) => {
    const body = (req.body ?? {}) as LoginRequest;
    const name =
      typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 40) : 'guest';
    // ttl 0 issues a token that expired 30 s ago: the server will refuse it with 4401.
    const ttl =
      typeof body.ttl === 'number' && Number.isFinite(body.ttl)
        ? Math.min(Math.max(Math.round(body.ttl), 0), tokenLifetime)
        : tokenLifetime;
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = ttl === 0 ? now - 60 : now;
    const expiresAt = ttl === 0 ? now - 30 : now + ttl;
    const token = await new SignJWT({ name })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(name)
      .setIssuer(issuer)
      .setAudience(issuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(secret);
    logins.issued++;
    if (ttl === 0) logins.expired++;
    const answer: LoginResponse = { token, expiresIn: expiresAt - now };
    res.json(answer);
  });

  app.post('/demo/outage', (req, res) => {
    const body = (req.body ?? {}) as Partial<{ mode: unknown; seconds: unknown }>;
    let closed: number;
    if (body.mode === 'drop') {
      closed = outage({ mode: 'drop' });
    } else if (body.mode === 'refuse') {
      const seconds = typeof body.seconds === 'number' ? body.seconds : 5;
      if (!(seconds > 0 && seconds <= 120)) {
        res.status(400).json({ error: 'seconds must be in (0, 120]' });
        return;
      }
      closed = outage({ mode: 'refuse', seconds });
    } else {
      res.status(400).json({ error: "mode must be 'drop' or 'refuse'" });
      return;
    }
    res.json({ closed, ...debug().outage });
  });

  app.get('/demo/debug', (_req, res) => {
    res.json(debug());
  });

  // The outage switch sits in front of rxwire: upgrades, and the HTTP
  // transport's requests, pass through this gate to a second http server that
  // never listens, where rxwire takes them. While refusing, the gate answers
  // 503 itself, and the browser sees a failed connection (1006), exactly as if
  // the server were down. While WebSocket is blocked it answers upgrades 403,
  // as a proxy that lets only plain HTTP through would, and the HTTP transport
  // keeps working. Everything else goes to Express.
  const wsHost = createHttpServer();
  const httpPath = `${wsPath}/http`;
  const retryAfter = (): Record<string, string> => ({
    'Retry-After': String(Math.ceil((refusingUntil - Date.now()) / 1000)),
  });
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (pathOf(request.url) !== httpPath) {
      app(request, response);
    } else if (request.method === 'GET' && Date.now() < refusingUntil) {
      // A new event stream is a new connection: refused like an upgrade.
      outageCounts.refused++;
      response.writeHead(503, { 'Content-Type': 'text/plain', ...retryAfter() });
      response.end('Service Unavailable');
    } else {
      wsHost.emit('request', request, response);
    }
  };
  const http = options.tls ? createHttpsServer(options.tls, handle) : createHttpServer(handle);
  http.on('upgrade', (request, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (pathOf(request.url) !== wsPath) {
      refuseUpgrade(socket, 404, 'Not Found');
    } else if (Date.now() < refusingUntil) {
      outageCounts.refused++;
      refuseUpgrade(socket, 503, 'Service Unavailable', retryAfter());
    } else if (webSocketBlocked) {
      blockedUpgrades++;
      refuseUpgrade(socket, 403, 'Forbidden');
    } else {
      wsHost.emit('upgrade', request, socket, head);
    }
  });

  const rx = createServer<DemoProtocol>({
    server: wsHost,
    path: wsPath,
    fallback: true,
    // A token must be a valid demo JWT (expired: 4401, and the page's client fetches a
    // fresh one); no token at all is a guest, so `npx rxwire stream` works as it is.
    // Each tokenless connection is its own guest: it can resume only its own session.
    authenticate: (token) =>
      token === undefined
        ? { sub: `guest:${randomUUID()}`, name: 'guest' }
        : verifyJwt(token, { secret, issuer, audience: issuer }),
    validate: {
      chat: (p) => typeof (p as { text?: unknown })?.text === 'string' || 'text must be a string',
      typing: (p) => typeof (p as { on?: unknown })?.on === 'boolean' || 'on must be a boolean',
    },
    ...(log ? { logger: log } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });

  const delay = options.chatDelayMs ?? 60;
  rx.handle('chat', ({ text }, session) =>
    defer(() => {
      const record: ChatRecord = {
        n: ++chatCount,
        sessionId: session.id,
        text,
        tokens: [],
        state: 'running',
      };
      chats.push(record);
      if (chats.length > 100) chats.shift();
      return replyTokens(text, delay).pipe(
        tap({
          next: ({ token }) => record.tokens.push(token),
          complete: () => (record.state = 'completed'),
          error: () => (record.state = 'failed'),
          // Only runs when the subscriber left before the end: the Stop button's $cancel.
          unsubscribe: () => {
            record.state = 'cancelled';
            log?.info?.(`chat #${record.n} cancelled after ${record.tokens.length} tokens`);
          },
        }),
      );
    }),
  );

  // Presence counts sessions with a live connection: a session whose connection
  // dropped stays in rx.sessions for the recovery window, waiting to be resumed;
  // session.connected$ says when it drops and when it comes back.
  // rx.presence is every node's sessions on a cluster, this node's otherwise.
  const online = (): number => rx.presence.filter((s) => s.connected).length;
  let announced = -1;
  const announce = (force = false): void => {
    const count = online();
    if (!force && count === announced) return;
    announced = count;
    rx.broadcast('presence', { online: count });
  };
  rx.sessions$.subscribe((session) => {
    announce(true); // the newcomer needs the count even when it did not change
    serveAudioView(session, (view) => views.set(session.id, view));
    session.connected$.pipe(skip(1)).subscribe(() => announce());
    session.closed$.subscribe(() => {
      views.delete(session.id);
      announce();
    });
  });

  function outage(request: OutageRequest): number {
    const [code, reason] =
      request.mode === 'drop'
        ? [CloseCode.ServiceRestart, 'demo outage: service restart']
        : [CloseCode.TryAgainLater, `demo outage: refusing connections for ${request.seconds} s`];
    if (request.mode === 'refuse') refusingUntil = Date.now() + request.seconds * 1000;
    log?.info?.(`outage: ${reason}`);
    const sessions = [...rx.sessions.values()];
    for (const session of sessions) session.close(code, reason);
    outageCounts.dropped += sessions.length;
    return sessions.length;
  }

  function debug(): DemoDebug {
    return {
      online: online(),
      sessions: [...rx.sessions.values()].map((s) => ({
        id: s.id,
        name: String((s.user as { name?: unknown } | undefined)?.name ?? ''),
        connected: s.connected,
        transport: s.transport,
        audio: views.get(s.id) ?? null,
      })),
      chats: chats.map((c) => ({ ...c, tokens: [...c.tokens] })),
      logins: { ...logins },
      outage: { ...outageCounts, refusingUntil: Date.now() < refusingUntil ? refusingUntil : null },
      webSocket: { blocked: webSocketBlocked, refused: blockedUpgrades },
      page: appScript.ok
        ? { ok: true, from: appScript.from }
        : { ok: false, reason: appScript.reason },
    };
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3001, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://localhost:${port}`,
    port,
    secret: secretText,
    secretGenerated: options.secret === undefined,
    server: rx,
    debug,
    outage,
    blockWebSocket(blocked: boolean) {
      webSocketBlocked = blocked;
      log?.info?.(`WebSocket upgrades ${blocked ? 'blocked (403)' : 'allowed'}`);
    },
    async close() {
      await rx.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A request's path, without the query string. */
function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0] ?? '/';
}

/** Answers an upgrade with a plain HTTP status; no WebSocket is opened. */
function refuseUpgrade(
  socket: Duplex,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    'Connection: close',
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${text}`);
}
