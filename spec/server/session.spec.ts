// The session core over a fake socket: routing, validation, bad frames,
// send/close and the end of a session.
import { firstValueFrom, toArray, type Observable } from 'rxjs';
import { CloseCode, ErrorCode, RxwireTypeError, type Protocol } from '../../src/protocol/index.js';
import { ServerCore } from '../../server/core.js';
import type { ServerOptions } from '../../server/options.js';
import type { Session } from '../../server/session.js';
import { FakeSocket, helloFake, openFake, type FakePeer } from '../helpers/server-fake-socket.js';
import { envelope } from '../helpers/server-harness.js';

interface Chat extends Protocol {
  client: { typing: { on: boolean }; say: { text: string } };
  server: { said: { text: string; by: string } };
}

/** Everything an observable emits until it completes. */
const all = <T>(o: Observable<T>): Promise<T[]> => firstValueFrom(o.pipe(toArray()));

const cores: Array<{ shutdown(): Promise<void> }> = [];
function makeCore<P extends Protocol = Chat>(options: ServerOptions<P> = {}): ServerCore<P> {
  const core = new ServerCore<P>({ heartbeat: false, ...options });
  cores.push(core);
  return core;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

async function openSession<P extends Protocol>(
  core: ServerCore<P>,
): Promise<{ peer: FakePeer; session: Session<P> }> {
  const next = firstValueFrom(core.sessions$);
  const peer = await helloFake(core);
  return { peer, session: await next };
}

describe('acknowledgements', () => {
  afterEach(() => jest.useRealTimers());

  it('acks a steady stream with a lone $ack per 20 ms tick, and keeps no timer once it stops', async () => {
    const { peer } = await openSession(makeCore());
    jest.useFakeTimers();
    for (let seq = 1; seq <= 19; seq++) {
      peer.send(envelope('typing', { on: true }, { seq }));
      jest.advanceTimersByTime(5);
    }
    jest.advanceTimersByTime(100);
    const acks = peer.socket.frames.filter((e) => e.type === '$ack').map((e) => e.ack!);
    // 19 messages over 95 ms: one ack per tick, not one per message; the last covers all.
    expect(acks.length).toBeGreaterThanOrEqual(4);
    expect(acks.length).toBeLessThanOrEqual(6);
    expect(acks.at(-1)).toBe(19);
    expect(jest.getTimerCount()).toBe(0); // the tick stopped with the stream
  });

  it('asks for a prompt ack (ackSoon) on a confirmed send, not on a plain one', async () => {
    const { peer, session } = await openSession(makeCore());
    session.send('said', { text: 'plain', by: 'a' });
    const confirmed = session.sendConfirmed('said', { text: 'confirmed', by: 'a' });
    const said = peer.socket.frames.filter((e) => e.type === 'said');
    expect(said.map((e) => [e.payload, e.ackSoon])).toEqual([
      [{ text: 'plain', by: 'a' }, undefined],
      [{ text: 'confirmed', by: 'a' }, true],
    ]);
    peer.send(envelope('$ack', null, { ack: 2 }));
    await confirmed;
  });

  it('asks for prompt acks once a quarter of maxUnacked is waiting for them', async () => {
    const core = makeCore({ maxUnacked: { messages: 8, bytes: 1 << 20 } });
    const { peer, session } = await openSession(core);
    for (let i = 0; i < 4; i++) session.send('said', { text: `${i}`, by: 'a' });
    const soon = peer.socket.frames.filter((e) => e.type === 'said').map((e) => e.ackSoon);
    // 2 of 8 unacknowledged is a quarter: the third frame on asks.
    expect(soon).toEqual([undefined, undefined, true, true]);
    peer.send(envelope('$ack', null, { ack: 4 }));
    session.send('said', { text: 'after', by: 'a' });
    expect(peer.socket.frames.at(-1)).toMatchObject({ type: 'said', seq: 5 });
    expect(peer.socket.frames.at(-1)!.ackSoon).toBeUndefined();
  });
});

describe('routing', () => {
  it('delivers payloads to on(type) and envelopes to messages$, by type', async () => {
    const { peer, session } = await openSession(makeCore());
    const typing: unknown[] = [];
    const says: unknown[] = [];
    const all: string[] = [];
    session.on('typing').subscribe((p) => typing.push(p));
    session.on('say').subscribe((p) => says.push(p));
    session.messages$.subscribe((e) => all.push(e.type));
    peer.send(envelope('typing', { on: true }));
    peer.send(envelope('say', { text: 'hi' }));
    peer.send(envelope('typing', { on: false }));
    expect(typing).toEqual([{ on: true }, { on: false }]);
    expect(says).toEqual([{ text: 'hi' }]);
    expect(all).toEqual(['typing', 'say', 'typing']);
    expect(peer.socket.sent).toHaveLength(1); // only the $welcome
  });

  it('keeps request envelopes out of messages$ and on()', async () => {
    const core = makeCore<Protocol & { client: { q: number }; server: object }>();
    const { peer, session } = await openSession(core);
    const seen: unknown[] = [];
    session.messages$.subscribe((e) => seen.push(e));
    session.on('q').subscribe((p) => seen.push(p));
    peer.send(envelope('q', 1, { request: true }));
    expect(seen).toEqual([]);
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error!.payload).toMatchObject({ code: ErrorCode.NoHandler });
  });

  it('lets several subscribers share a type and drops the route when the last leaves', async () => {
    const { peer, session } = await openSession(makeCore());
    const a: unknown[] = [];
    const b: unknown[] = [];
    const subA = session.on('say').subscribe((p) => a.push(p));
    const subB = session.on('say').subscribe((p) => b.push(p));
    peer.send(envelope('say', { text: '1' }));
    subA.unsubscribe();
    peer.send(envelope('say', { text: '2' }));
    subB.unsubscribe();
    peer.send(envelope('say', { text: '3' }));
    expect(a).toEqual([{ text: '1' }]);
    expect(b).toEqual([{ text: '1' }, { text: '2' }]);
  });
});

describe('validation', () => {
  const isSay = (p: unknown): boolean | string =>
    (typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string') ||
    'text must be a string';

  it('rejects a payload that fails its validator with $error RXWIRE_INVALID_PAYLOAD; subscribers never see it', async () => {
    const { peer, session } = await openSession(makeCore({ validate: { say: isSay } }));
    const says: unknown[] = [];
    session.on('say').subscribe((p) => says.push(p));
    const bad = envelope('say', { text: 42 });
    peer.send(bad);
    peer.send(envelope('say', { text: 'ok' }));
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error).toMatchObject({
      type: '$error',
      replyTo: bad.id,
      payload: {
        code: ErrorCode.InvalidPayload,
        message: "invalid 'say' payload: text must be a string",
        replyTo: bad.id,
      },
    });
    expect(says).toEqual([{ text: 'ok' }]);
    expect(session.state).toBe('open');
  });

  it('accepts a Standard Schema and delivers its output value', async () => {
    const trimmed = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) =>
          typeof (value as { text?: unknown })?.text === 'string'
            ? { value: { text: (value as { text: string }).text.trim() } }
            : { issues: [{ message: 'expected string', path: ['text'] }] },
      },
    };
    const { peer, session } = await openSession(makeCore({ validate: { say: trimmed } }));
    const says: unknown[] = [];
    session.on('say').subscribe((p) => says.push(p));
    peer.send(envelope('say', { text: '  hi  ' }));
    peer.send(envelope('say', {}));
    const [, error] = await peer.socket.waitForFrames(2);
    expect(says).toEqual([{ text: 'hi' }]);
    expect(error!.payload).toMatchObject({
      message: "invalid 'say' payload: text: expected string",
    });
  });

  it('with strictTypes, rejects types it does not know with RXWIRE_UNKNOWN_TYPE', async () => {
    const core = makeCore({ validate: { say: isSay }, strictTypes: true });
    const { peer, session } = await openSession(core);
    const all: unknown[] = [];
    session.messages$.subscribe((e) => all.push(e.type));
    const odd = envelope('typing', { on: true });
    peer.send(odd);
    peer.send(envelope('say', { text: 'x' }));
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error).toMatchObject({ replyTo: odd.id, payload: { code: ErrorCode.UnknownType } });
    expect(all).toEqual(['say']);
  });

  it('with a strictTypes list, knows exactly those types', async () => {
    const { peer, session } = await openSession(makeCore({ strictTypes: ['typing'] }));
    const all: unknown[] = [];
    session.messages$.subscribe((e) => all.push(e.type));
    peer.send(envelope('say', { text: 'x' }));
    peer.send(envelope('typing', { on: true }));
    expect(all).toEqual(['typing']);
    expect(peer.socket.frames[1]!.payload).toMatchObject({ code: ErrorCode.UnknownType });
  });
});

describe('bad frames', () => {
  const env = (fields: string): string => `{${fields}}`;
  const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
  it.each<{ name: string; code: string; frame: string | Uint8Array; knowsId: boolean }>([
    { name: 'broken JSON', code: ErrorCode.BadJson, frame: '{"type":"say",', knowsId: false },
    { name: 'a JSON array', code: ErrorCode.BadEnvelope, frame: '[1,2,3]', knowsId: false },
    {
      name: 'an envelope without a type',
      code: ErrorCode.BadEnvelope,
      frame: env('"id":"x1","payload":1,"timestamp":"t"'),
      knowsId: true,
    },
    {
      name: 'an envelope without an id',
      code: ErrorCode.BadEnvelope,
      frame: env('"type":"say","payload":1,"timestamp":"t"'),
      knowsId: false,
    },
    {
      name: 'a numeric timestamp',
      code: ErrorCode.BadEnvelope,
      frame: env('"type":"say","id":"x1","payload":1,"timestamp":5'),
      knowsId: true,
    },
    {
      name: 'an unknown control type',
      code: ErrorCode.UnknownControl,
      frame: env('"type":"$shout","id":"x1","payload":1,"timestamp":"t"'),
      knowsId: true,
    },
    {
      name: 'a server-only control type',
      code: ErrorCode.UnknownControl,
      frame: env('"type":"$next","id":"x1","payload":1,"timestamp":"t"'),
      knowsId: true,
    },
    {
      name: '$cancel without replyTo',
      code: ErrorCode.BadEnvelope,
      frame: env('"type":"$cancel","id":"x1","payload":null,"timestamp":"t"'),
      knowsId: true,
    },
    {
      name: 'a binary frame',
      code: ErrorCode.BadBinaryFrame,
      frame: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      knowsId: false,
    },
    {
      name: 'deeply nested JSON',
      code: ErrorCode.BadJson,
      frame: env(`"type":"say","id":"x1","timestamp":"t","payload":${deep}`),
      knowsId: false,
    },
  ])('answers $name with $error $code and stays open', async ({ code, frame, knowsId }) => {
    const { peer, session } = await openSession(makeCore());
    const all: unknown[] = [];
    session.messages$.subscribe((e) => all.push(e));
    peer.connection.receive(frame);
    const [, error] = await peer.socket.waitForFrames(2);
    expect(error!.type).toBe('$error');
    expect(error!.payload).toMatchObject({ code });
    expect(error!.replyTo).toBe(knowsId ? 'x1' : undefined);
    expect(all).toEqual([]);
    // Still serving: a good frame right after is delivered.
    peer.send(envelope('say', { text: 'after' }));
    expect(all).toHaveLength(1);
    expect(session.state).toBe('open');
  });

  it('never answers a client $error (no ping-pong of errors)', async () => {
    const { peer } = await openSession(makeCore());
    peer.send(envelope('$error', { code: 'X', message: 'your frame was bad' }, { replyTo: 'abc' }));
    peer.send(envelope('$ping'));
    const frames = await peer.socket.waitForFrames(2);
    expect(frames.map((f) => f.type)).toEqual(['$welcome', '$pong']);
  });

  it('logs the first few bad frames of a connection and then one summary', async () => {
    const warnings: string[] = [];
    const core = makeCore({ rateLimit: false, logger: { warn: (m) => warnings.push(m) } });
    const { peer } = await openSession(core);
    for (let i = 0; i < 500; i++) peer.connection.receive('not json');
    expect(peer.socket.sent).toHaveLength(501);
    expect(warnings.length).toBe(4);
    peer.connection.closed(1000, '');
    expect(warnings.length).toBe(5);
    expect(warnings[4]).toBe('500 bad frames on this connection in total');
  });
});

describe('rate limit', () => {
  it('closes 4429 when a connection sends more than its rate allows', async () => {
    const core = makeCore({ rateLimit: { messages: 10, perMs: 60_000 } });
    const { peer, session } = await openSession(core);
    const got: unknown[] = [];
    session.on('say').subscribe((p) => got.push(p));
    for (let i = 0; i < 20; i++) peer.send(envelope('say', { text: String(i) }));
    expect(await peer.socket.closeCalled).toEqual({
      code: CloseCode.TooManyRequests,
      reason: 'rate limit exceeded',
    });
    expect(got).toHaveLength(9); // the $hello took one token
    // A rate-limited client may come back with backoff and resume the session.
    peer.connection.closed(CloseCode.TooManyRequests, 'rate limit exceeded');
    expect(session.state).toBe('open');
    expect(session.connected).toBe(false);
  });
});

describe('send, close and the end of a session', () => {
  it('sends typed messages as envelopes', async () => {
    const { peer, session } = await openSession(makeCore());
    session.send('said', { text: 'hello', by: 'ann' });
    const [, frame] = peer.socket.frames;
    expect(frame).toMatchObject({ type: 'said', payload: { text: 'hello', by: 'ann' } });
    expect(typeof frame!.id).toBe('string');
    expect(frame!.replyTo).toBeUndefined();
  });

  it('refuses reserved types with RxwireTypeError RXWIRE_RESERVED_TYPE', async () => {
    const { session } =
      await openSession(makeCore<Protocol & { client: object; server: Record<string, unknown> }>());
    expect(() => session.send('$welcome', {})).toThrow(RxwireTypeError);
    expect(() => session.send('$x', 1)).toThrow(
      expect.objectContaining({ code: ErrorCode.ReservedType }),
    );
    expect(() => session.send('', 1)).toThrow(RxwireTypeError);
  });

  it('close(code, reason) closes the socket with the reason clamped to 122 bytes', async () => {
    const { peer, session } = await openSession(makeCore());
    session.close(4000, 'é'.repeat(100));
    const close = await peer.socket.closeCalled;
    expect(close.code).toBe(4000);
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(122);
    expect(session.state).toBe('closing');
    expect(() => session.close(1006)).toThrow(RxwireTypeError);
  });

  it('completes every stream, emits closed$ once and leaves sessions when the socket closes', async () => {
    const core = makeCore();
    const { peer, session } = await openSession(core);
    const messages = firstValueFrom(session.messages$.pipe(toArray()));
    const typing = firstValueFrom(session.on('typing').pipe(toArray()));
    const audio = firstValueFrom(session.audio$.pipe(toArray()));
    const closes = firstValueFrom(session.closed$.pipe(toArray()));
    let inMapAtClose: boolean | undefined;
    session.closed$.subscribe(() => (inMapAtClose = core.sessions.has(session.id)));
    peer.send(envelope('typing', { on: true }));
    peer.connection.closed(1000, 'bye');
    peer.connection.closed(1000, 'again');
    expect(await typing).toEqual([{ on: true }]);
    expect(await messages).toHaveLength(1);
    expect(await audio).toEqual([]);
    expect(await closes).toEqual([{ code: 1000, reason: 'bye' }]);
    expect(inMapAtClose).toBe(false);
    expect(session.state).toBe('closed');
    // Late subscribers complete at once; late closed$ subscribers still get the close.
    expect(await firstValueFrom(session.on('say').pipe(toArray()))).toEqual([]);
    expect(await firstValueFrom(session.closed$)).toEqual({ code: 1000, reason: 'bye' });
  });

  it('streams first asked for after the end complete at once (closed$ and connected$ with their value)', async () => {
    const { peer, session } = await openSession(makeCore());
    peer.connection.closed(1000, 'bye');
    expect(await all(session.messages$)).toEqual([]);
    expect(await all(session.on('typing'))).toEqual([]);
    expect(await all(session.audio$)).toEqual([]);
    expect(await all(session.audioStream(1))).toEqual([]);
    expect(await all(session.connected$)).toEqual([false]);
    expect(await all(session.closed$)).toEqual([{ code: 1000, reason: 'bye' }]);
    expect((await all(session.audioStats$)).map((s) => s.streams.size)).toEqual([0]);
  });

  it('keeps each stream observable it handed out working across the end', async () => {
    const { peer, session } = await openSession(makeCore());
    // Asked for before the end, subscribed to after it.
    const closed$ = session.closed$;
    const connected$ = session.connected$;
    const messages$ = session.messages$;
    const audio$ = session.audio$;
    const on$ = session.on('typing');
    const early = firstValueFrom(connected$.pipe(toArray()));
    peer.connection.closed(1000, 'bye');
    expect(await early).toEqual([true, false]);
    expect(await all(closed$)).toEqual([{ code: 1000, reason: 'bye' }]);
    expect(await all(connected$)).toEqual([false]);
    expect(await all(messages$)).toEqual([]);
    expect(await all(audio$)).toEqual([]);
    expect(await all(on$)).toEqual([]);
  });

  it('returns the same observable for a stream each time (made once, on first use)', async () => {
    const { session } = await openSession(makeCore());
    expect(session.closed$).toBe(session.closed$);
    expect(session.messages$).toBe(session.messages$);
    expect(session.audio$).toBe(session.audio$);
    expect(session.connected$).toBe(session.connected$);
  });

  it('keeps the request headers but those of the WebSocket handshake', async () => {
    const core = makeCore();
    const next = firstValueFrom(core.sessions$);
    const peer = openFake(core, undefined, {
      host: 'example.test',
      origin: 'https://example.test',
      cookie: 'a=1',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-extensions': 'permessage-deflate',
      'x-custom': 'yes',
    });
    peer.send(envelope('$hello', { v: 1 }));
    const session = await next;
    expect(session.request.headers).toEqual({
      host: 'example.test',
      origin: 'https://example.test',
      cookie: 'a=1',
      'x-custom': 'yes',
    });
    expect(session.request.url).toBe('/ws');
  });

  it('drops sends on a closed session, logging at debug instead of throwing', async () => {
    const debug: string[] = [];
    const core = makeCore({ logger: { debug: (m) => debug.push(m) } });
    const { peer, session } = await openSession(core);
    peer.connection.closed(1000, '');
    expect(() => session.send('said', { text: 'late', by: 'x' })).not.toThrow();
    expect(peer.socket.sent).toHaveLength(1);
    expect(debug).toContain('send on a closed session dropped');
  });

  it('ignores frames arriving after the server started closing', async () => {
    const { peer, session } = await openSession(makeCore());
    const got: unknown[] = [];
    session.on('say').subscribe((p) => got.push(p));
    session.close();
    peer.send(envelope('say', { text: 'late' }));
    expect(got).toEqual([]);
  });

  it('a socket that never completes the handshake does not leak: closing it ends the connection', async () => {
    const core = makeCore();
    const peer = openFake(core, undefined, {}, new FakeSocket(false));
    expect(core.connectionCount).toBe(1);
    peer.connection.closed(1006, '');
    expect(core.connectionCount).toBe(0);
  });
});
