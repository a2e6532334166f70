// The runnable demo (`npm start`): Express and rxwire on one port (PORT, else
// 3001), a login route issuing short-lived demo JWTs, and a `chat` request
// handler that streams its reply token by token.
import express from 'express';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createServer } from '../server/index.js';
import { replyTokens } from './chat.js';
import { page } from './page.js';
import type { DemoProtocol } from './protocol.js';

const port = Number(process.env.PORT ?? 3001);
const secretText = process.env.RXWIRE_DEMO_SECRET ?? randomBytes(32).toString('base64url');
const secret = new TextEncoder().encode(secretText);
const issuer = 'rxwire-demo';
const tokenLifetime = '15m';

const logger = {
  debug: () => undefined,
  info: (message: string, context?: object) => console.log(`[rxwire] ${message}`, context ?? ''),
  warn: (message: string, context?: object) => console.warn(`[rxwire] ${message}`, context ?? ''),
  error: (message: string, context?: object) => console.error(`[rxwire] ${message}`, context ?? ''),
};

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
  logger,
});

rx.handle('chat', ({ text }) => replyTokens(text));

const announce = (): void => {
  rx.broadcast('presence', { online: rx.sessions.size });
};
rx.sessions$.subscribe((session) => {
  announce();
  session.closed$.subscribe(announce);
});

http.listen(port, () => {
  const { port: bound } = http.address() as AddressInfo;
  console.log(`rxwire demo on http://localhost:${bound} (WebSocket at ws://localhost:${bound}/ws)`);
  if (!process.env.RXWIRE_DEMO_SECRET) {
    console.log(`demo JWT secret (random; set RXWIRE_DEMO_SECRET to fix it): ${secretText}`);
  }
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing sessions with 1001, then the http server`);
  await rx.close();
  http.closeAllConnections();
  http.close(() => process.exit(0));
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
