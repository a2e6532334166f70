// The demo server behind `npm start` and `npx rxwire serve`: Express and rxwire
// on one port, a login route issuing short-lived demo JWTs, and a `chat`
// request handler that streams its reply token by token.
import express from 'express';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../src/protocol/index.js';
import { SignJWT } from 'jose';
import { createServer } from '../server/index.js';
import { replyTokens } from './chat.js';
import { page } from './page.js';
import type { DemoProtocol } from './protocol.js';

export interface DemoOptions {
  /** Port to listen on (0 picks a free one). @default 3001 */
  port?: number;
  /** HS256 secret for demo tokens. @default a random one, reported in `secretGenerated` */
  secret?: string;
  /** Where the rxwire server reports. @default silent */
  logger?: Partial<Logger>;
}

export interface Demo {
  /** http://localhost:<port> */
  url: string;
  port: number;
  /** The secret used to sign tokens, and whether it was generated. */
  secret: string;
  secretGenerated: boolean;
  /** Closes sessions with 1001, then the http server. */
  close(): Promise<void>;
}

const issuer = 'rxwire-demo';
const tokenLifetime = '15m';

/**
 * Starts the demo: Express serving the page and `POST /demo/login`, and an
 * rxwire server on the same port at `/ws`.
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

  const app = express();
  app.use(express.json({ limit: '4kb' }));
  app.get('/', (_req, res) => {
    res.type('html').send(page);
  });
  app.post('/demo/login', async (req, res) => {
    const raw = (req.body as { name?: unknown } | undefined)?.name;
    const name = typeof raw === 'string' && raw.trim() ? raw.trim().slice(0, 40) : 'guest';
    const token = await new SignJWT({ name })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(name)
      .setIssuer(issuer)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime(tokenLifetime)
      .sign(secret);
    res.json({ token, expiresIn: tokenLifetime });
  });

  const http = createHttpServer(app);
  const rx = createServer<DemoProtocol>({
    server: http,
    jwt: { secret, issuer, audience: issuer },
    validate: {
      chat: (p) => typeof (p as { text?: unknown })?.text === 'string' || 'text must be a string',
      typing: (p) => typeof (p as { on?: unknown })?.on === 'boolean' || 'on must be a boolean',
    },
    ...(options.logger ? { logger: options.logger } : {}),
  });

  rx.handle('chat', ({ text }) => replyTokens(text));

  const announce = (): void => {
    rx.broadcast('presence', { online: rx.sessions.size });
  };
  rx.sessions$.subscribe((session) => {
    announce();
    session.closed$.subscribe(announce);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3001, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    port,
    secret: secretText,
    secretGenerated: options.secret === undefined,
    async close() {
      await rx.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
