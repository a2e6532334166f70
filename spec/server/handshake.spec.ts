// The $hello handshake and the authenticate hook, driven through the core with
// a fake socket: no ws, no port.
import { firstValueFrom, toArray } from 'rxjs';
import { CloseCode, type Envelope } from '../../src/protocol/index.js';
import {
  ForbiddenError,
  UnauthorizedError,
  forbidden,
  type Authenticate,
} from '../../server/auth.js';
import { ServerCore } from '../../server/core.js';
import type { ServerOptions } from '../../server/options.js';
import { helloFake, openFake } from '../helpers/server-fake-socket.js';
import { envelope } from '../helpers/server-harness.js';

const cores: ServerCore[] = [];
function makeCore<U = unknown>(options: ServerOptions<never, U> = {}): ServerCore<never, U> {
  const core = new ServerCore<never, U>({ heartbeat: false, ...options });
  cores.push(core as unknown as ServerCore);
  return core;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

describe('$hello / $welcome', () => {
  it('answers a valid $hello with $welcome and emits the session once', async () => {
    const core = makeCore({ heartbeat: { interval: 25_000, timeout: 10_000 } });
    const sessions = firstValueFrom(core.sessions$);
    const peer = openFake(core);
    const hello = envelope('$hello', { v: 1, client: 'test' });
    peer.send(hello);
    const session = await sessions;
    const [welcome] = peer.socket.frames;
    expect(welcome).toMatchObject({
      type: '$welcome',
      replyTo: hello.id,
      payload: { v: 1, sessionId: session.id, heartbeatMs: 25_000 },
    });
    expect(typeof welcome!.id).toBe('string');
    expect(Number.isNaN(Date.parse(welcome!.timestamp))).toBe(false);
    expect(core.sessions.get(session.id)).toBe(session);
    expect(session.user).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['a plain message', envelope('chat', { text: 'hi' })],
    ['a $ping', envelope('$ping')],
    ['JSON that is not an envelope', { hello: true }],
    ['an unsupported version', envelope('$hello', { v: 2 })],
    ['a hello without a version', envelope('$hello', {})],
    ['a hello whose payload is not an object', envelope('$hello', 'v1')],
    ['a hello with a numeric token', envelope('$hello', { v: 1, token: 42 })],
  ])('closes 4400 when the first frame is %s, sending nothing', async (_, frame) => {
    const core = makeCore();
    const emitted = core.sessions$.pipe(toArray()).subscribe();
    const peer = openFake(core);
    peer.send(frame);
    const close = await peer.socket.closeCalled;
    expect(close.code).toBe(CloseCode.BadRequest);
    expect(peer.socket.sent).toEqual([]);
    expect(core.sessions.size).toBe(0);
    emitted.unsubscribe();
  });

  it('closes 4400 when the first frame is binary or broken JSON', async () => {
    const core = makeCore();
    const a = openFake(core);
    a.connection.receive(new Uint8Array([1, 2, 3]));
    expect((await a.socket.closeCalled).code).toBe(CloseCode.BadRequest);
    const b = openFake(core);
    b.connection.receive('{"type":"$hello",');
    expect((await b.socket.closeCalled).code).toBe(CloseCode.BadRequest);
  });

  it('says which version it speaks when the client speaks another', async () => {
    const peer = openFake(makeCore());
    peer.send(envelope('$hello', { v: 2 }));
    expect((await peer.socket.closeCalled).reason).toMatch(/version 2.*speaks 1/);
  });

  it('closes 4408 when no $hello arrives within helloTimeout', async () => {
    const core = makeCore({ helloTimeout: 30 });
    const peer = openFake(core);
    const close = await peer.socket.closeCalled;
    expect(close).toEqual({ code: CloseCode.HelloTimeout, reason: 'no $hello within 30 ms' });
    expect(peer.socket.sent).toEqual([]);
  });

  it('closes 1013 when authenticate has not answered by helloTimeout', async () => {
    const core = makeCore({ helloTimeout: 30, authenticate: () => new Promise(() => undefined) });
    const peer = openFake(core);
    peer.send(envelope('$hello', { v: 1, token: 't' }));
    expect(await peer.socket.closeCalled).toEqual({
      code: CloseCode.TryAgainLater,
      reason: 'authentication timed out',
    });
  });

  it('replays frames pipelined after $hello, in order, once the session is open', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const core = makeCore({
      authenticate: async () => {
        await gate;
        return { name: 'ann' };
      },
    });
    const received: unknown[] = [];
    core.sessions$.subscribe((s) => s.on('n').subscribe((p) => received.push(p)));
    const peer = openFake(core);
    peer.send(envelope('$hello', { v: 1, token: 't' }));
    for (let i = 0; i < 5; i++) peer.send(envelope('n', i));
    expect(peer.socket.sent).toEqual([]);
    release();
    await peer.socket.waitForFrames(1);
    expect(peer.socket.frames[0]!.type).toBe('$welcome');
    expect(received).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('authenticate hook', () => {
  it('passes the $hello token and makes its answer session.user', async () => {
    const seen: Array<string | undefined> = [];
    const core = makeCore({
      authenticate: (token) => {
        seen.push(token);
        return { name: 'ann' };
      },
    });
    const sessions = firstValueFrom(core.sessions$);
    await helloFake(core, { token: 'abc' });
    expect(seen).toEqual(['abc']);
    expect((await sessions).user).toEqual({ name: 'ann' });
  });

  it('falls back to the Authorization header token; the $hello token wins when both exist', async () => {
    const seen: Array<string | undefined> = [];
    const core = makeCore({ authenticate: (token) => (seen.push(token), { ok: true }) });
    const a = openFake(core, 'from-header');
    a.send(envelope('$hello', { v: 1 }));
    await a.socket.waitForFrames(1);
    const b = openFake(core, 'from-header');
    b.send(envelope('$hello', { v: 1, token: 'from-hello' }));
    await b.socket.waitForFrames(1);
    expect(seen).toEqual(['from-header', 'from-hello']);
  });

  const unauthorized = (): never => {
    throw new UnauthorizedError('token revoked');
  };
  const forbiddenError = async (): Promise<never> => {
    throw new ForbiddenError('not in this room');
  };
  const crash = (): never => {
    throw new Error('db down');
  };
  it.each<[string, number, string, Authenticate<unknown>]>([
    ['returns null', CloseCode.Unauthorized, 'unauthorized', () => null],
    ['returns undefined', CloseCode.Unauthorized, 'unauthorized', async () => undefined],
    ['throws UnauthorizedError', CloseCode.Unauthorized, 'token revoked', unauthorized],
    ['returns forbidden()', CloseCode.Forbidden, 'banned', () => forbidden('banned')],
    ['throws ForbiddenError', CloseCode.Forbidden, 'not in this room', forbiddenError],
    ['throws anything else', CloseCode.InternalError, 'authentication failed', crash],
  ])('when the hook %s, closes %d and emits no session', async (_, code, reason, authenticate) => {
    const errors: string[] = [];
    const core = makeCore({ authenticate, logger: { error: (m) => errors.push(m) } });
    const sessions: unknown[] = [];
    core.sessions$.subscribe((s) => sessions.push(s));
    const peer = openFake(core);
    peer.send(envelope('$hello', { v: 1, token: 't' }));
    expect(await peer.socket.closeCalled).toEqual({ code, reason });
    expect(peer.socket.sent).toEqual([]);
    expect(sessions).toEqual([]);
    expect(core.sessions.size).toBe(0);
    // The internal failure is logged, without leaking into the close reason.
    expect(errors.length).toBe(code === CloseCode.InternalError ? 1 : 0);
  });

  it('drops the handshake when the socket closed while authenticating', async () => {
    let release!: (user: { name: string }) => void;
    const core = makeCore({
      authenticate: () => new Promise<{ name: string }>((resolve) => (release = resolve)),
    });
    const sessions: unknown[] = [];
    core.sessions$.subscribe((s) => sessions.push(s));
    const peer = openFake(core);
    peer.send(envelope('$hello', { v: 1, token: 't' }));
    peer.connection.closed(1006, '');
    release({ name: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sessions).toEqual([]);
    expect(peer.socket.sent).toEqual([]);
    expect(core.connectionCount).toBe(0);
  });
});

describe('after $welcome', () => {
  it('answers $hello again with $error RXWIRE_UNKNOWN_CONTROL and stays open', async () => {
    const peer = await helloFake(makeCore());
    const again = envelope('$hello', { v: 1 });
    peer.send(again);
    const frames = await peer.socket.waitForFrames(2);
    expect(frames[1]).toMatchObject({
      type: '$error',
      replyTo: again.id,
      payload: { code: 'RXWIRE_UNKNOWN_CONTROL', replyTo: again.id },
    });
    expect(peer.socket.closeCall).toBeNull();
  });

  it('answers $ping with $pong pointing at the ping', async () => {
    const peer = await helloFake(makeCore());
    const ping: Envelope = envelope('$ping', { t: 1 });
    peer.send(ping);
    const frames = await peer.socket.waitForFrames(2);
    expect(frames[1]).toMatchObject({ type: '$pong', replyTo: ping.id, payload: null });
  });
});
