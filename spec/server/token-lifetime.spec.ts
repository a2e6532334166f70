// Sessions end with their token (issue 19): over real sockets, with short
// JWTs, the server asks for a fresh token before `exp`, the client answers in
// band without reconnecting, and a session without a valid fresh token is
// closed with 4401 at the expiry (the client then resumes it with a new one).
import { SignJWT } from 'jose';
import { filter, firstValueFrom, interval, map, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import { createClient, type Client, type ConnectionStatus, type Protocol } from 'rxwire';
import { withExpiry, type Session } from 'rxwire/server';
import {
  Disposer,
  RawClient,
  connected,
  startServer,
  until,
  within,
} from '../helpers/server-harness';

interface P extends Protocol {
  client: { note: number };
  server: { news: string };
  requests: { ticks: { request: { n: number; everyMs: number }; response: number } };
}

const SECRET = 'token-lifetime-secret-token-lifetime-secret';
const key = new TextEncoder().encode(SECRET);
const disposer = new Disposer();
afterEach(() => disposer.drain());

/** A JWT for `sub` that expires `seconds` from now (JWT `exp` has 1 s resolution). */
function jwt(sub: string, seconds: number): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(key);
}

async function setup(tokenExpiry?: { refreshBefore?: number; leeway?: number } | false) {
  const sessions: Session<P>[] = [];
  const { server, url } = await startServer<P>(disposer, {
    jwt: { secret: SECRET },
    ...(tokenExpiry !== undefined ? { tokenExpiry } : {}),
  });
  server.sessions$.subscribe((s) => sessions.push(s));
  server.handle('ticks', ({ n, everyMs }) =>
    interval(everyMs).pipe(
      take(n),
      map((i) => i),
    ),
  );
  return { server, url, sessions };
}

function client(url: string, token: () => Promise<string>): Client<P> {
  const c = createClient<P>({ url, WebSocketCtor: WebSocket, token });
  disposer.add(() => c.dispose());
  return c;
}

it('refreshes in band before exp: same session, no reconnect, a request in flight runs on', async () => {
  const { url, sessions } = await setup();
  let issued = 0;
  const c = client(url, () => {
    issued += 1;
    return jwt('ada', 3);
  });
  const statuses: ConnectionStatus[] = [];
  c.state$.subscribe((s) => {
    if (statuses[statuses.length - 1] !== s.status) statuses.push(s.status);
  });
  await connected(c);
  await until(() => sessions.length === 1, 5_000, 'the session');
  const session = sessions[0]!;
  const firstExpiry = session.expiresAt!;
  expect(firstExpiry).toBeGreaterThan(Date.now());
  // A request that outlives two tokens.
  const ticks = firstValueFrom(c.request('ticks', { n: 25, everyMs: 200 }).pipe(toArray()));
  await until(() => issued >= 3, 15_000, 'two in-band refreshes');
  await until(() => session.expiresAt! > firstExpiry, 5_000, 'the expiry to move');
  expect(await within(ticks, 15_000, 'the request')).toHaveLength(25);
  expect(statuses).toEqual(['connecting', 'connected']); // never reconnected
  expect(sessions).toHaveLength(1); // sessions$ did not emit again
  expect(session.state).toBe('open');
  expect(session.user).toMatchObject({ sub: 'ada' });
});

it('an invalid fresh token closes with 4401; the client reconnects with a good one and resumes', async () => {
  const { url, sessions } = await setup();
  let issued = 0;
  const c = client(url, () => {
    issued += 1;
    return issued === 2 ? Promise.resolve('not-a-jwt') : jwt('ada', 3);
  });
  await connected(c);
  const closes: number[] = [];
  c.state$.subscribe((s) => s.lastClose && closes.push(s.lastClose.code));
  const resumed = firstValueFrom(c.sessions$.pipe(filter((s) => s.resumed)));
  const info = await within(resumed, 15_000, 'the resume');
  expect(closes).toContain(4401);
  expect(info.sessionId).toBe(sessions[0]!.id);
  expect(sessions).toHaveLength(1);
});

it('a client that never answers $refresh (an old client) is closed with 4401 at the expiry', async () => {
  const { url, sessions } = await setup({ leeway: 0 });
  const raw = await RawClient.connect(url, disposer);
  const welcome = await raw.hello({ token: await jwt('old', 2) });
  expect(welcome.type).toBe('$welcome');
  const frames = await raw.until((e) => e.type === '$refresh', 10_000);
  const refresh = frames[frames.length - 1]!;
  const expiresAt = Date.parse((refresh.payload as { expiresAt: string }).expiresAt);
  expect(expiresAt).toBe(sessions[0]!.expiresAt);
  const close = await raw.waitClosed(10_000);
  expect(close.code).toBe(4401);
  expect(close.reason).toBe('token expired');
  expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 50); // not before the expiry (timer slack)
});

it('a fresh token for another user is refused with 4403 and the session ends', async () => {
  const { url, sessions } = await setup();
  let issued = 0;
  const c = client(url, () => {
    issued += 1;
    return jwt(issued === 1 ? 'ada' : 'mallory', 3);
  });
  await connected(c);
  await until(() => sessions[0]?.state === 'closed', 15_000, 'the session to end');
  expect(c.state.status).toBe('error');
  expect(c.state.lastClose?.code).toBe(4403);
});

it('authenticate can bound a session with withExpiry(user, expiresAt)', async () => {
  const sessions: Session<P>[] = [];
  let minted = 0;
  const { server, url } = await startServer<P>(disposer, {
    authenticate: (token) =>
      token?.startsWith('t') ? withExpiry({ id: 'ada', token }, Date.now() + 1_500) : null,
  });
  server.sessions$.subscribe((s) => sessions.push(s));
  const c = client(url, async () => `t${++minted}`);
  await connected(c);
  await until(() => minted >= 2, 10_000, 'a refresh');
  await until(
    () => (sessions[0]?.user as { token?: string }).token === 't2',
    5_000,
    'the fresher user',
  );
  expect(sessions).toHaveLength(1);
});

it('tokenExpiry: false lets a session outlive its token', async () => {
  const { url, sessions } = await setup(false);
  const c = client(url, () => jwt('ada', 1));
  await connected(c);
  await until(() => sessions.length === 1, 5_000, 'the session');
  // Past the token's exp, messages still flow on the first connection.
  await firstValueFrom(interval(2_200).pipe(take(1)));
  const seen = firstValueFrom(sessions[0]!.on('note'));
  c.send('note', 1);
  expect(await within(seen, 5_000, 'a message')).toBe(1);
  expect(sessions[0]!.delivery.resumes).toBe(0);
});
