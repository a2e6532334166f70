// Exactly-once delivery across dropped connections, with the real client and
// server on loopback and the fault proxy in between: resume, the recovery
// window running out, a stolen resume token, the unacked bounds, request
// streams that survive a reconnect, and confirmed sends.
import { firstValueFrom, interval, take, toArray } from 'rxjs';
import { WebSocket } from 'ws';
import { SignJWT } from 'jose';
import {
  createClient,
  type Client,
  type ClientOptions,
  type SessionInfo,
  type WebSocketConstructor,
} from '../../src/index.js';
import { CloseCode, ErrorCode, QueueFullError, type Protocol } from '../../src/protocol/index.js';
import type { Session, SessionClose } from '../../server/index.js';
import type { ServerOptions } from '../../server/options.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  Disposer,
  connected,
  RawClient,
  envelope,
  startServer,
  until,
  within,
} from '../helpers/server-harness.js';

interface Api extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number } };
  requests: { count: { request: { to: number; everyMs: number }; response: number } };
}

const disposer = new Disposer();
afterEach(() => disposer.drain());
jest.setTimeout(30_000);

/** A server, and a fault proxy in front of it. */
async function setup(options: Omit<ServerOptions<Api, unknown>, 'server' | 'port'> = {}) {
  const { server, port, url } = await startServer<Api>(disposer, { heartbeat: false, ...options });
  const proxy: FaultProxy = await startFaultProxy({ target: { port }, seed: 1 });
  disposer.add(() => proxy.close());
  const sessions: Session<Api>[] = [];
  /** What each session received as `up`, recorded from its first frame. */
  const ups = new Map<string, number[]>();
  server.sessions$.subscribe((s) => {
    sessions.push(s);
    const got: number[] = [];
    ups.set(s.id, got);
    s.on('up').subscribe(({ n }) => got.push(n));
  });
  return { server, proxy, sessions, ups, url, proxied: `${proxy.url}/ws` };
}

function connect(url: string, options: ClientOptions<Api['server']> = {}): Client<Api> {
  const client = createClient<Api>({
    url,
    WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelay: 20, maxDelay: 200 },
    heartbeat: { interval: 200, timeout: 300 },
    ...options,
  });
  disposer.add(() => client.dispose());
  return client;
}

/** Resolves with the client's next `$welcome` (subscribe before causing it). */
const nextSession = (client: Client<Api>): Promise<SessionInfo> =>
  within(firstValueFrom(client.sessions$), 10_000, 'the next connection');

describe('resume after a dropped connection', () => {
  it('delivers every message once, in order, both ways, across cuts; the session is emitted once', async () => {
    const { proxy, sessions, proxied } = await setup();
    const client = connect(proxied);
    const firstWelcome = nextSession(client);
    await connected(client);
    const session = sessions[0]!;
    const ups: boolean[] = [];
    session.connected$.subscribe((up) => ups.push(up));
    const atServer: number[] = [];
    session.on('up').subscribe(({ n }) => atServer.push(n));
    const atClient: number[] = [];
    client.on('down').subscribe(({ n }) => atClient.push(n));

    const total = 600;
    for (let i = 0; i < total; i++) {
      client.send('up', { n: i });
      session.send('down', { n: i });
      if (i % 150 === 75) proxy.cutAll();
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(
      () => atServer.length >= total && atClient.length >= total,
      15_000,
      'every message',
    );
    expect(atServer).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(atClient).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(sessions).toHaveLength(1);
    expect(session.delivery.resumes).toBeGreaterThanOrEqual(1);
    // connected$ went down and up again with each cut, and is up now.
    expect(ups.length).toBeGreaterThanOrEqual(3);
    expect(ups[0]).toBe(true);
    expect(ups.at(-1)).toBe(true);
    expect(ups.filter((up) => !up).length).toBe(session.delivery.resumes);
    expect(client.state).toMatchObject({ sessionId: session.id, resumed: true });
    expect((await firstWelcome).resumed).toBe(false);
    // Everything was acknowledged in the end.
    await until(
      () => client.state.unacked === 0 && session.delivery.unacked === 0,
      5_000,
      'the last acks',
    );
  });

  it('ends the session after the recovery window; the client learns it has a new session and resends', async () => {
    const { server, proxy, sessions, ups, proxied } = await setup({ recoveryWindow: 150 });
    const client = connect(proxied);
    await connected(client);
    const first = sessions[0]!;
    const closed: SessionClose = await (async () => {
      const ended = firstValueFrom(first.closed$);
      proxy.refuse(true);
      proxy.cutAll();
      return within(ended, 5_000, 'the session to expire');
    })();
    expect(closed).toMatchObject({ code: 1006, expired: true });
    expect(closed.reason).toContain('recovery window');
    expect(server.sessions.has(first.id)).toBe(false);

    // Sent while away: it reaches the new session.
    client.send('up', { n: 7 });
    const second = nextSession(client);
    proxy.refuse(false);
    const info = await second;
    expect(info).toEqual({
      sessionId: sessions[1]!.id,
      resumed: false,
      previousSessionId: first.id,
    });
    expect(client.state).toMatchObject({ sessionId: sessions[1]!.id, resumed: false });
    expect(sessions).toHaveLength(2);
    await until(() => ups.get(sessions[1]!.id)!.length > 0, 5_000, 'the queued message');
    expect(ups.get(sessions[1]!.id)).toEqual([7]);
  });

  it('resends to a new session what the old one never acknowledged (at-least-once across a restart)', async () => {
    const { sessions, ups, proxy, proxied } = await setup({ recoveryWindow: 0 });
    const client = connect(proxied);
    await connected(client);
    proxy.stallAll(10_000); // nothing reaches the server, nothing is acknowledged
    for (let n = 0; n < 5; n++) client.send('up', { n });
    expect(client.state.unacked).toBe(5);
    const second = nextSession(client);
    proxy.cutAll(); // the stalled bytes die with the connection; the session ends (no window)
    const info = await second;
    expect(info).toMatchObject({ resumed: false, previousSessionId: sessions[0]!.id });
    client.send('up', { n: 5 });
    await until(
      () => ups.get(sessions[1]!.id)!.length >= 6,
      5_000,
      'the new session to get every message',
    );
    // Nothing lost: the five unacknowledged messages went again, before the next one.
    expect(ups.get(sessions[0]!.id)).toEqual([]);
    expect(ups.get(sessions[1]!.id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(client.state.resent).toBe(0); // not a resume: the messages were sent anew
  });
});

describe('resume security', () => {
  it('closes 4403 when the resume token is wrong, and the session stays resumable', async () => {
    const { sessions, url } = await setup();
    const client = connect(url);
    await connected(client);
    const thief = await RawClient.connect(url, disposer);
    thief.send(
      envelope('$hello', {
        v: 1,
        resume: { sessionId: sessions[0]!.id, token: 'guessed'.padEnd(32, 'x'), ack: 0 },
      }),
    );
    const close = await thief.waitClosed(5_000);
    expect(close.code).toBe(CloseCode.Forbidden);
    expect(sessions[0]!.state).toBe('open');
    expect(sessions[0]!.connected).toBe(true);
  });

  it('closes 4403 when another user presents the right token', async () => {
    const secret = 'resume-test-secret-resume-test-secret';
    const key = new TextEncoder().encode(secret);
    const token = (sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setExpirationTime('5m')
        .sign(key);
    const { sessions, url, server } = await setup({ jwt: { secret } });
    const alice = await token('alice');
    const client = connect(url, { token: () => alice });
    await connected(client);
    // Read the resume token the way a client would: from $welcome.
    const { welcome } = await RawClient.open(url, disposer, { token: await token('alice') });
    const stolen = (welcome.payload as { resumeToken: string }).resumeToken;
    const target = sessions[1]!;
    const mallory = await RawClient.connect(url, disposer);
    mallory.send(
      envelope('$hello', {
        v: 1,
        token: await token('mallory'),
        resume: { sessionId: target.id, token: stolen, ack: 0 },
      }),
    );
    expect((await mallory.waitClosed(5_000)).code).toBe(CloseCode.Forbidden);
    // The same user with the same token may resume (a new access token is fine).
    const { welcome: again } = await RawClient.open(url, disposer, {
      token: await token('alice'),
      resume: { sessionId: target.id, token: stolen, ack: 0 },
    });
    expect(again.payload).toMatchObject({ sessionId: target.id, resumed: true });
    expect(server.sessions.size).toBe(2);
  });
});

describe('bounds', () => {
  it('throws QueueFullError from session.send over maxUnacked while the client is away', async () => {
    const { sessions, proxy, proxied } = await setup({ maxUnacked: { messages: 5 } });
    const client = connect(proxied, { reconnect: false });
    await connected(client);
    const session = sessions[0]!;
    proxy.stallAll(10_000);
    for (let n = 0; n < 5; n++) session.send('down', { n });
    expect(() => session.send('down', { n: 5 })).toThrow(QueueFullError);
    expect(session.delivery.unacked).toBe(5);
    await expect(session.sendConfirmed('down', { n: 6 })).rejects.toMatchObject({
      code: ErrorCode.QueueFull,
    });
  });

  it('holds client sends beyond maxUnacked in the queue, and applies the queue policy past its limit', async () => {
    const { proxy, proxied, sessions } = await setup();
    const client = connect(proxied, { maxUnacked: 3, queue: { limit: 2, overflow: 'error' } });
    await connected(client);
    proxy.stallAll(10_000);
    for (let n = 0; n < 5; n++) client.send('up', { n });
    expect(client.state).toMatchObject({ unacked: 3, queued: 2 });
    expect(() => client.send('up', { n: 5 })).toThrow(QueueFullError);
    const got: number[] = [];
    sessions[0]!.on('up').subscribe(({ n }) => got.push(n));
    proxy.stop();
    await until(() => got.length >= 5, 5_000, 'the queued messages');
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('request streams and confirmations across a reconnect', () => {
  it('continues a request stream when the session resumes: every value once, in order', async () => {
    const { server, proxy, proxied } = await setup();
    let subscribed = 0;
    server.handle('count', ({ to, everyMs }) => {
      subscribed++;
      return interval(everyMs).pipe(take(to));
    });
    const client = connect(proxied);
    await connected(client);
    const values = firstValueFrom(client.request('count', { to: 40, everyMs: 5 }).pipe(toArray()));
    const cut = setTimeout(() => proxy.cutAll(), 60);
    disposer.add(() => clearTimeout(cut));
    expect(await within(values, 10_000, 'the stream')).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    expect(subscribed).toBe(1);
    expect(client.state.resumed).toBe(true);
  });

  it('sendConfirmed resolves once the peer acknowledges, on both sides', async () => {
    const { sessions, url } = await setup();
    const client = connect(url);
    await connected(client);
    const session = sessions[0]!;
    const got: number[] = [];
    session.on('up').subscribe(({ n }) => got.push(n));
    await within(client.sendConfirmed('up', { n: 1 }), 5_000, 'the client confirmation');
    expect(got).toEqual([1]);
    const down = firstValueFrom(client.on('down'));
    await within(session.sendConfirmed('down', { n: 2 }), 5_000, 'the server confirmation');
    expect(await down).toEqual({ n: 2 });
  });

  it('sendConfirmed times out with RXWIRE_CONFIRM_TIMEOUT when no ack comes', async () => {
    const { proxy, proxied } = await setup();
    const client = connect(proxied);
    await connected(client);
    proxy.stallAll(10_000);
    await expect(client.sendConfirmed('up', { n: 1 }, { timeout: 100 })).rejects.toMatchObject({
      code: ErrorCode.ConfirmTimeout,
    });
  });
});
