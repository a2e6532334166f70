// Auth end to end: JWTs signed with jose, the authenticate hook, the
// Authorization header and allowedOrigins. Every refusal has its close code and
// never emits a session.
import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { CloseCode } from '../../src/protocol/index.js';
import { forbidden, verifyJwt, type Session, type ServerOptions } from '../../server/index.js';
import { Disposer, RawClient, startServer } from '../helpers/server-harness.js';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const key = new TextEncoder().encode(secret);
const disposer = new Disposer();
afterEach(() => disposer.drain());

function sign(
  claims: JWTPayload = {},
  opts: { key?: Uint8Array | KeyLike; alg?: string; exp?: string | number } = {},
): Promise<string> {
  return new SignJWT({ sub: 'ann', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.key ?? key);
}

/** Starts a server, recording every session it emits. */
async function serve(options: Omit<ServerOptions, 'server' | 'port'>): Promise<{
  url: string;
  sessions: Session[];
}> {
  const { server, url } = await startServer(disposer, { heartbeat: false, ...options });
  const sessions: Session[] = [];
  server.sessions$.subscribe((s) => sessions.push(s));
  return { url, sessions };
}

/** Connects, says $hello with `token`, and returns how the server closed the socket. */
async function refused(url: string, hello: Record<string, unknown>, headers = {}) {
  const client = await RawClient.connect(url, disposer, { headers });
  client.send({
    type: '$hello',
    id: 'h1',
    payload: { v: 1, ...hello },
    timestamp: new Date().toISOString(),
  });
  const close = await client.waitClosed();
  return { close, frames: client.pending() };
}

describe('built-in JWT mode', () => {
  const jwt = { secret, issuer: 'rxwire-tests', audience: 'chat' };

  it('accepts a valid token; session.user is its claims', async () => {
    const { url, sessions } = await serve({ jwt });
    const token = await sign({ iss: 'rxwire-tests', aud: 'chat', role: 'member' });
    const { welcome } = await RawClient.open(url, disposer, { token });
    expect(welcome.type).toBe('$welcome');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.user).toMatchObject({ sub: 'ann', role: 'member', aud: 'chat' });
  });

  it.each<{ name: string; token: () => Promise<string | undefined>; reason: string }>([
    { name: 'missing', token: async () => undefined, reason: 'token missing' },
    {
      name: 'expired',
      token: () =>
        sign({ iss: 'rxwire-tests', aud: 'chat' }, { exp: Math.floor(Date.now() / 1000) - 60 }),
      reason: 'token expired',
    },
    {
      name: 'signed with another secret',
      token: () =>
        sign(
          { iss: 'rxwire-tests', aud: 'chat' },
          { key: new TextEncoder().encode('x'.repeat(40)) },
        ),
      reason: 'token signature invalid',
    },
    {
      name: 'for another audience',
      token: () => sign({ iss: 'rxwire-tests', aud: 'admin' }),
      reason: "token 'aud' claim rejected",
    },
    {
      name: 'from another issuer',
      token: () => sign({ iss: 'someone-else', aud: 'chat' }),
      reason: "token 'iss' claim rejected",
    },
    {
      name: 'not yet valid',
      token: () =>
        new SignJWT({ iss: 'rxwire-tests', aud: 'chat' })
          .setProtectedHeader({ alg: 'HS256' })
          .setNotBefore('10m')
          .setExpirationTime('20m')
          .sign(key),
      reason: "token 'nbf' claim rejected",
    },
    { name: 'garbage', token: async () => 'not.a.jwt', reason: 'token invalid' },
  ])('closes 4401 when the token is $name, emitting no session', async ({ token, reason }) => {
    const { url, sessions } = await serve({ jwt });
    const t = await token();
    const { close, frames } = await refused(url, t === undefined ? {} : { token: t });
    expect(close).toEqual({ code: CloseCode.Unauthorized, reason });
    expect(frames).toEqual([]);
    expect(sessions).toEqual([]);
  });

  it('refuses HS384 unless `algorithms` allows it', async () => {
    const { url, sessions } = await serve({ jwt });
    const token = await sign({ iss: 'rxwire-tests', aud: 'chat' }, { alg: 'HS384' });
    expect((await refused(url, { token })).close).toEqual({
      code: CloseCode.Unauthorized,
      reason: 'token algorithm not allowed',
    });
    expect(sessions).toEqual([]);
  });

  it('verifies asymmetric tokens with a public key (PEM or KeyObject)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const pem = await exportSPKI(publicKey);
    for (const pk of [pem, publicKey]) {
      const { url, sessions } = await serve({ jwt: { publicKey: pk } });
      const token = await sign({}, { key: privateKey, alg: 'ES256' });
      const { welcome } = await RawClient.open(url, disposer, { token });
      expect(welcome.type).toBe('$welcome');
      expect(sessions[0]!.user).toMatchObject({ sub: 'ann' });
      // An HMAC token "signed" with the public key's bytes must not pass (alg confusion).
      const forged = await sign({}, { key: new TextEncoder().encode(pem) });
      expect((await refused(url, { token: forged })).close.code).toBe(CloseCode.Unauthorized);
    }
  });

  it('takes the token from an Authorization: Bearer header for non-browser clients', async () => {
    const { url, sessions } = await serve({ jwt });
    const token = await sign({ iss: 'rxwire-tests', aud: 'chat' });
    const { welcome } = await RawClient.open(
      url,
      disposer,
      {},
      {
        headers: { Authorization: `Bearer ${token}` },
      },
    );
    expect(welcome.type).toBe('$welcome');
    expect(sessions).toHaveLength(1);
  });

  it('prefers the $hello token over the header', async () => {
    const { url, sessions } = await serve({ jwt });
    const good = await sign({ iss: 'rxwire-tests', aud: 'chat' });
    const { close } = await refused(url, { token: 'bad' }, { Authorization: `Bearer ${good}` });
    expect(close.code).toBe(CloseCode.Unauthorized);
    expect(sessions).toEqual([]);
  });
});

describe('authenticate hook over the wire', () => {
  it('closes 4403 when the hook says forbidden, emitting no session', async () => {
    const { url, sessions } = await serve({
      authenticate: async (token) => {
        const claims = await verifyJwt(token, { secret });
        return claims.sub === 'mallory' ? forbidden('banned') : claims;
      },
    });
    const token = await sign({ sub: 'mallory' });
    expect((await refused(url, { token })).close).toEqual({
      code: CloseCode.Forbidden,
      reason: 'banned',
    });
    const expired = await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 });
    expect((await refused(url, { token: expired })).close).toEqual({
      code: CloseCode.Unauthorized,
      reason: 'token expired',
    });
    expect(sessions).toEqual([]);
    const { welcome } = await RawClient.open(url, disposer, { token: await sign() });
    expect(welcome.type).toBe('$welcome');
    expect(sessions).toHaveLength(1);
  });

  it('sees the upgrade request', async () => {
    const seen: Array<string | undefined> = [];
    const { url } = await serve({
      authenticate: (_token, request) => {
        seen.push(request.headers['x-tenant'] as string | undefined);
        return { ok: true };
      },
    });
    await RawClient.open(url, disposer, {}, { headers: { 'X-Tenant': 'acme' } });
    expect(seen).toEqual(['acme']);
  });
});

describe('allowedOrigins', () => {
  it('refuses other origins at the upgrade with HTTP 403 and no WebSocket', async () => {
    const { url, sessions } = await serve({ allowedOrigins: ['https://app.example'] });
    await expect(
      RawClient.connect(url, disposer, { origin: 'https://evil.example' }),
    ).rejects.toMatchObject({ status: 403 });
    const { welcome } = await RawClient.open(url, disposer, {}, { origin: 'https://app.example' });
    expect(welcome.type).toBe('$welcome');
    // Non-browser clients send no Origin and are let through by a list.
    await RawClient.open(url, disposer);
    expect(sessions).toHaveLength(2);
  });

  it('accepts a function, which also decides for requests without Origin', async () => {
    const { url, sessions } = await serve({
      allowedOrigins: (origin) => origin?.endsWith('.example') ?? false,
    });
    await expect(RawClient.connect(url, disposer)).rejects.toMatchObject({ status: 403 });
    await RawClient.open(url, disposer, {}, { origin: 'https://a.example' });
    expect(sessions).toHaveLength(1);
  });
});
