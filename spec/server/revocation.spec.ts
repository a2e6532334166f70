// server.disconnectUser on real sockets (port 0): every session of the user
// ends at once, over WebSocket and the HTTP fallback, connected or waiting
// for a resume; none can be resumed; rxwire clients stop on the default 4403
// and come back with a fresh token on 4401; other users are not disturbed;
// bad arguments reject with a typed error.
import { SignJWT } from 'jose';
import { filter, finalize, firstValueFrom, NEVER } from 'rxjs';
import { WebSocket } from 'ws';
import { createClient, type Client, type ConnectionState, type WebSocketConstructor } from 'rxwire';
import {
  ErrorCode,
  RxwireTypeError,
  type Protocol,
  type Session,
  type SessionClose,
} from 'rxwire/server';
import { Disposer, RawClient, startServer, until, within } from '../helpers/server-harness.js';

interface Chat extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: { forever: { request: null; response: number } };
}

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const disposer = new Disposer();
afterEach(() => disposer.drain());

const sign = (sub: string): Promise<string> =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

function connect(
  url: string,
  token: string | (() => string | Promise<string>),
  transport: 'websocket' | 'http' = 'websocket',
): Client<Chat> {
  const client = createClient<Chat>({
    url,
    token,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    heartbeat: false,
    transports: [transport],
  });
  disposer.add(() => client.dispose());
  client.connect();
  return client;
}

function stateWhere(
  client: Client<Chat>,
  match: (s: ConnectionState) => boolean,
  what: string,
): Promise<ConnectionState> {
  return within(firstValueFrom(client.state$.pipe(filter(match))), 10_000, what);
}

const isConnected = (s: ConnectionState) => s.status === 'connected';

describe('server.disconnectUser', () => {
  it("ends every session of the user, connected or waiting for a resume, and leaves others' alone", async () => {
    const { server, url } = await startServer<Chat>(disposer, {
      heartbeat: false,
      fallback: true,
      jwt: { secret },
    });
    const sessions: Session<Chat>[] = [];
    server.sessions$.subscribe((s) => sessions.push(s));
    const alice = await sign('alice');
    const overWs = connect(url, alice);
    const overHttp = connect(url, alice, 'http');
    const bob = connect(url, await sign('bob'));
    await Promise.all([overWs, overHttp, bob].map((c) => stateWhere(c, isConnected, 'connected')));
    // A third session of alice's whose connection dropped: it waits for a resume.
    const { client: dropped, welcome } = await RawClient.open(url, disposer, { token: alice });
    const waiting = server.sessions.get((welcome.payload as { sessionId: string }).sessionId)!;
    dropped.ws.terminate();
    await until(() => !waiting.connected, 5_000, 'the session to wait for a resume');

    const aliceSessions = sessions.filter((s) => (s.user as { sub: string }).sub === 'alice');
    expect(aliceSessions).toHaveLength(3);
    const closes = aliceSessions.map((s) => firstValueFrom(s.closed$));

    const ended: string[] = [];
    for (const s of aliceSessions) s.closed$.subscribe(() => ended.push(s.id));
    expect(await server.disconnectUser('alice')).toBe(3);

    // Ended by the time the promise resolves (not when the sockets are gone):
    // out of `sessions`, `closed$` emitted.
    expect(ended).toHaveLength(3);
    expect([...server.sessions.values()].map((s) => (s.user as { sub: string }).sub)).toEqual([
      'bob',
    ]);
    const revoked: SessionClose = { code: 4403, reason: 'session revoked' };
    expect(await Promise.all(closes)).toEqual([revoked, revoked, revoked]);
    // rxwire clients stop on 4403 instead of reconnecting with the same token.
    for (const client of [overWs, overHttp]) {
      const state = await stateWhere(client, (s) => s.status === 'error', 'the client to stop');
      expect(state.lastClose).toMatchObject({ code: 4403, reason: 'session revoked' });
    }
    // Bob's session goes on.
    const bobSession = sessions.find((s) => (s.user as { sub: string }).sub === 'bob')!;
    const said = firstValueFrom(bob.on('said'));
    bobSession.send('said', { text: 'still here' });
    expect(await within(said, 5_000, "bob's message")).toEqual({ text: 'still here' });
    expect(bob.state.status).toBe('connected');
  });

  it('leaves nothing to resume, even before the revoked socket has closed', async () => {
    const { server, url } = await startServer<Chat>(disposer, {
      heartbeat: false,
      jwt: { secret },
    });
    const token = await sign('alice');
    const { client, welcome } = await RawClient.open(url, disposer, { token });
    const { sessionId, resumeToken } = welcome.payload as {
      sessionId: string;
      resumeToken: string;
    };

    await server.disconnectUser('alice');
    // At once, with the revoked connection's close handshake still under way:
    const thief = await RawClient.open(url, disposer, {
      token,
      resume: { sessionId, token: resumeToken, ack: 0 },
    });
    expect(thief.welcome.payload).toMatchObject({ resumed: false });
    expect((thief.welcome.payload as { sessionId: string }).sessionId).not.toBe(sessionId);
    expect(await client.waitClosed()).toEqual({ code: 4403, reason: 'session revoked' });
  });

  it('ends the requests in flight of a revoked session', async () => {
    const { server, url } = await startServer<Chat>(disposer, {
      heartbeat: false,
      jwt: { secret },
    });
    let stopped = 0;
    let running: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (running = resolve));
    server.handle('forever', () => {
      running();
      return NEVER.pipe(finalize(() => stopped++));
    });
    const { client } = await RawClient.open(url, disposer, { token: await sign('alice') });
    client.request('forever');
    await within(started, 5_000, 'the handler to run');
    expect(await server.disconnectUser('alice')).toBe(1);
    expect(stopped).toBe(1);
  });

  it('finds users by the userKey option', async () => {
    type User = { id: number; email: string };
    const { server, url } = await startServer<Chat, User>(disposer, {
      heartbeat: false,
      authenticate: (token) => ({ id: token === 'ann' ? 1 : 2, email: `${token}@example.org` }),
      userKey: (user) => user.email,
    });
    const ann = connect(url, 'ann');
    const ben = connect(url, 'ben');
    await Promise.all([ann, ben].map((c) => stateWhere(c, isConnected, 'connected')));
    expect(await server.disconnectUser('1')).toBe(0); // the id is not the key here
    expect(await server.disconnectUser('ann@example.org')).toBe(1);
    await stateWhere(ann, (s) => s.status === 'error', 'ann to stop');
    expect(server.sessions.size).toBe(1);
  });

  it('with 4401, rxwire clients fetch a fresh token and come back in a new session', async () => {
    const { server, url } = await startServer<Chat>(disposer, {
      heartbeat: false,
      authenticate: (token) => (token?.startsWith('ann') ? { id: 'ann' } : null),
    });
    const tokens: string[] = [];
    const first = firstValueFrom(server.sessions$);
    const client = connect(url, () => {
      tokens.push(`ann-v${tokens.length + 1}`);
      return tokens.at(-1)!;
    });
    const { sessionId } = await stateWhere(client, isConnected, 'connected');
    expect((await first).id).toBe(sessionId);

    const next = firstValueFrom(server.sessions$);
    expect(await server.disconnectUser('ann', 4401, 'token revoked')).toBe(1);
    const again = await within(next, 10_000, 'a new session');
    expect(again.id).not.toBe(sessionId);
    const state = await stateWhere(
      client,
      (s) => isConnected(s) && s.sessionId === again.id,
      'back',
    );
    expect(state.lastClose).toMatchObject({ code: 4401, reason: 'token revoked' });
    expect(tokens).toEqual(['ann-v1', 'ann-v2']);
  });

  it('resolves 0 for a user without sessions, and rejects bad arguments with a typed error', async () => {
    const { server, url } = await startServer<Chat>(disposer, { heartbeat: false });
    await RawClient.open(url, disposer);
    expect(await server.disconnectUser('nobody')).toBe(0);
    const bad: Array<Parameters<typeof server.disconnectUser>> = [
      [42 as unknown as string],
      ['ann', 1006],
      ['ann', 'x' as unknown as number],
      ['ann', 4403, 5 as unknown as string],
    ];
    for (const args of bad) {
      const error: unknown = await server.disconnectUser(...args).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RxwireTypeError);
      expect(error).toMatchObject({ code: ErrorCode.InvalidOption });
      expect((error as Error).message).toMatch(/disconnectUser/);
    }
    expect(server.sessions.size).toBe(1);
  });

  it('does not end the sessions of users without a key (they are compared by JSON)', async () => {
    const { server, url } = await startServer<Chat>(disposer, {
      heartbeat: false,
      authenticate: () => ({ name: 'no id' }),
    });
    await RawClient.open(url, disposer);
    expect(await server.disconnectUser('no id')).toBe(0);
    expect(await server.disconnectUser('undefined')).toBe(0);
    expect(server.sessions.size).toBe(1);
  });
});
