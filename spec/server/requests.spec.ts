// Request streams over a fake socket: $next/$complete/$error, $cancel,
// isolation between requests, and what a failing handler reveals.
import {
  NEVER,
  Observable,
  Subject,
  defer,
  firstValueFrom,
  interval,
  of,
  take,
  throwError,
} from 'rxjs';
import { ErrorCode, RxwireError, type Envelope, type Protocol } from '../../src/protocol/index.js';
import { ServerCore } from '../../server/core.js';
import type { ServerOptions } from '../../server/options.js';
import type { Session } from '../../server/session.js';
import { helloFake, type FakePeer } from '../helpers/server-fake-socket.js';
import { envelope } from '../helpers/server-harness.js';

interface Api extends Protocol {
  client: object;
  server: object;
  requests: {
    count: { request: { to: number }; response: number };
    fail: { request: { how: string }; response: never };
    echo: { request: unknown; response: unknown };
  };
}

const cores: Array<{ shutdown(): Promise<void> }> = [];
function makeCore(options: ServerOptions<Api> = {}): ServerCore<Api> {
  const core = new ServerCore<Api>({ heartbeat: false, ...options });
  cores.push(core);
  return core;
}
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

async function open(core: ServerCore<Api>): Promise<FakePeer> {
  return helloFake(core);
}

function request(peer: FakePeer, type: string, payload: unknown): string {
  const frame = envelope(type, payload, { request: true });
  peer.send(frame);
  return frame.id;
}

/** Frames after the $welcome that answer `id`. */
function answers(peer: FakePeer, id: string): Envelope[] {
  return peer.socket.frames.filter((f) => f.replyTo === id);
}

describe('request streams', () => {
  it('sends each value as $next and the completion as $complete, all pointing at the request', async () => {
    const core = makeCore();
    core.handle('count', ({ to }) => of(...Array.from({ length: to }, (_, i) => i + 1)));
    const peer = await open(core);
    const id = request(peer, 'count', { to: 3 });
    const frames = answers(peer, id);
    expect(frames.map((f) => [f.type, f.payload])).toEqual([
      ['$next', 1],
      ['$next', 2],
      ['$next', 3],
      ['$complete', null],
    ]);
    expect(new Set(frames.map((f) => f.id)).size).toBe(4);
  });

  it('accepts Promises and arrays as handler results', async () => {
    const core = makeCore();
    core.handle('echo', async (payload) => payload);
    core.handle('count', ({ to }) => [to, to]);
    const peer = await open(core);
    const a = request(peer, 'echo', { x: 1 });
    const b = request(peer, 'count', { to: 7 });
    await peer.socket.waitForFrames(6);
    expect(answers(peer, a).map((f) => f.type)).toEqual(['$next', '$complete']);
    expect(answers(peer, a)[0]!.payload).toEqual({ x: 1 });
    expect(answers(peer, b).map((f) => f.payload)).toEqual([7, 7, null]);
  });

  it('passes the session to the handler', async () => {
    const core = makeCore();
    let seen: Session<Api> | undefined;
    core.handle('echo', (_, session) => {
      seen = session;
      return of(session.id);
    });
    const sessions = firstValueFrom(core.sessions$);
    const peer = await open(core);
    const id = request(peer, 'echo', null);
    expect(seen).toBe(await sessions);
    expect(answers(peer, id)[0]!.payload).toBe(seen!.id);
  });

  it.each<{
    name: string;
    handler: () => Observable<never> | never;
    code: string;
    message: string;
  }>([
    {
      name: 'an Observable that errors with a coded error',
      handler: () => throwError(() => new RxwireError('NOT_FOUND', 'no such thing')),
      code: 'NOT_FOUND',
      message: 'no such thing',
    },
    {
      name: 'an Observable that errors with a plain Error',
      handler: () => throwError(() => new Error('boom')),
      code: ErrorCode.HandlerError,
      message: 'boom',
    },
    {
      name: 'a synchronous throw',
      handler: () => {
        throw new TypeError('bad input');
      },
      code: ErrorCode.HandlerError,
      message: 'bad input',
    },
    {
      name: 'a non-Error throw',
      handler: () => {
        throw { weird: true };
      },
      code: ErrorCode.HandlerError,
      message: 'request handler failed',
    },
    {
      name: 'a return value that is not ObservableInput',
      handler: () => undefined as never,
      code: ErrorCode.HandlerError,
      message: expect.stringContaining('stream') as unknown as string,
    },
  ])('turns $name into $error $code, without a stack', async ({ handler, code, message }) => {
    const core = makeCore();
    core.handle('fail', handler);
    const peer = await open(core);
    const id = request(peer, 'fail', { how: 'x' });
    const frames = answers(peer, id);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({
      type: '$error',
      replyTo: id,
      payload: { code, message, replyTo: id },
    });
    expect(JSON.stringify(frames[0])).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('forwards `details` of a coded error', async () => {
    const core = makeCore();
    core.handle('fail', () => {
      throw Object.assign(new Error('quota'), { code: 'QUOTA', details: { limit: 5 } });
    });
    const peer = await open(core);
    const id = request(peer, 'fail', { how: 'x' });
    expect(answers(peer, id)[0]!.payload).toEqual({
      code: 'QUOTA',
      message: 'quota',
      replyTo: id,
      details: { limit: 5 },
    });
  });

  it('fails only the request whose value cannot be encoded', async () => {
    const core = makeCore();
    core.handle('echo', () => of(1, BigInt(2), 3));
    const peer = await open(core);
    const id = request(peer, 'echo', null);
    expect(answers(peer, id).map((f) => [f.type, f.payload])).toEqual([
      ['$next', 1],
      ['$error', expect.objectContaining({ code: ErrorCode.HandlerError })],
    ]);
  });

  it('answers an unknown request type with RXWIRE_NO_HANDLER', async () => {
    const peer = await open(makeCore());
    const id = request(peer, 'count', { to: 1 });
    expect(answers(peer, id)).toEqual([
      expect.objectContaining({
        type: '$error',
        payload: expect.objectContaining({ code: ErrorCode.NoHandler }),
      }),
    ]);
  });

  it('validates request payloads before the handler runs', async () => {
    const core = makeCore({
      validate: { count: (p) => typeof (p as { to?: unknown })?.to === 'number' },
    });
    const calls: unknown[] = [];
    core.handle('count', (p) => (calls.push(p), []));
    const peer = await open(core);
    const id = request(peer, 'count', { to: 'three' });
    expect(answers(peer, id)[0]!.payload).toMatchObject({ code: ErrorCode.InvalidPayload });
    expect(calls).toEqual([]);
  });

  it('answers a reused in-flight id with RXWIRE_DUPLICATE_REQUEST and keeps the first running', async () => {
    const core = makeCore();
    const values = new Subject<number>();
    core.handle('count', () => values);
    const peer = await open(core);
    const first = envelope('count', { to: 1 }, { request: true });
    peer.send(first);
    peer.send(first);
    values.next(1);
    values.complete();
    expect(
      answers(peer, first.id).map((f) => [
        f.type,
        (f.payload as { code?: string })?.code ?? f.payload,
      ]),
    ).toEqual([
      ['$error', ErrorCode.DuplicateRequest],
      ['$next', 1],
      ['$complete', null],
    ]);
  });

  it('lets an id be reused once its request has ended', async () => {
    const core = makeCore();
    core.handle('count', ({ to }) => of(to));
    const peer = await open(core);
    const frame = envelope('count', { to: 1 }, { request: true });
    peer.send(frame);
    peer.send(frame);
    expect(answers(peer, frame.id).map((f) => f.type)).toEqual([
      '$next',
      '$complete',
      '$next',
      '$complete',
    ]);
  });

  it('$cancel unsubscribes the handler and nothing more is sent for that id', async () => {
    const core = makeCore();
    let torndown = 0;
    const values = new Subject<number>();
    core.handle(
      'count',
      () =>
        new Observable<number>((s) => {
          const sub = values.subscribe(s);
          return () => {
            torndown += 1;
            sub.unsubscribe();
          };
        }),
    );
    const peer = await open(core);
    const id = request(peer, 'count', { to: 9 });
    values.next(1);
    peer.send(envelope('$cancel', null, { replyTo: id }));
    values.next(2);
    values.complete();
    expect(torndown).toBe(1);
    expect(answers(peer, id).map((f) => f.type)).toEqual(['$next']);
    // Cancelling again, or an unknown id, is harmless and silent.
    peer.send(envelope('$cancel', null, { replyTo: id }));
    peer.send(envelope('$cancel', null, { replyTo: 'nope' }));
    expect(peer.socket.frames.filter((f) => f.type === '$error')).toEqual([]);
  });

  it('$cancel stops even a synchronous infinite source', async () => {
    const core = makeCore();
    let cancelAfter: (() => void) | null = null;
    core.handle(
      'count',
      () =>
        new Observable<number>((s) => {
          for (let i = 0; !s.closed; i++) {
            s.next(i);
            if (i === 2) cancelAfter?.();
          }
        }),
    );
    const peer = await open(core);
    const frame = envelope('count', { to: 0 }, { request: true });
    cancelAfter = () => peer.send(envelope('$cancel', null, { replyTo: frame.id }));
    peer.send(frame);
    expect(answers(peer, frame.id).map((f) => f.payload)).toEqual([0, 1, 2]);
  });

  it('runs concurrent requests in isolation: one failing does not touch the others', async () => {
    const core = makeCore();
    const a = new Subject<number>();
    const b = new Subject<number>();
    const streams = [a, b];
    core.handle('count', ({ to }) => streams[to]!);
    const peer = await open(core);
    const idA = request(peer, 'count', { to: 0 });
    const idB = request(peer, 'count', { to: 1 });
    a.next(1);
    b.next(10);
    a.error(new Error('a broke'));
    b.next(11);
    b.complete();
    expect(answers(peer, idA).map((f) => f.type)).toEqual(['$next', '$error']);
    expect(answers(peer, idB).map((f) => [f.type, f.payload])).toEqual([
      ['$next', 10],
      ['$next', 11],
      ['$complete', null],
    ]);
  });

  it('stops every request when the session ends', async () => {
    const core = makeCore();
    let active = 0;
    core.handle('count', () =>
      defer(() => {
        active += 1;
        return interval(5).pipe(take(1000));
      }).pipe(
        (source) =>
          new Observable<number>((s) => {
            const sub = source.subscribe(s);
            return () => {
              active -= 1;
              sub.unsubscribe();
            };
          }),
      ),
    );
    core.handle('echo', () => NEVER);
    const peer = await open(core);
    request(peer, 'count', { to: 1 });
    request(peer, 'count', { to: 2 });
    request(peer, 'echo', null);
    expect(active).toBe(2);
    peer.connection.closed(1000, '');
    expect(active).toBe(0);
  });

  it('refuses to register two handlers for one type, and unregisters on unsubscribe', async () => {
    const core = makeCore();
    const registration = core.handle('echo', (p) => of(p));
    expect(() => core.handle('echo', (p) => of(p))).toThrow(/already registered/);
    expect(() => core.handle('$next' as 'echo', (p) => of(p))).toThrow(/reserved/);
    registration.unsubscribe();
    const again = core.handle('echo', () => of('second'));
    const peer = await open(core);
    const id = request(peer, 'echo', null);
    expect(answers(peer, id)[0]!.payload).toBe('second');
    again.unsubscribe();
  });

  it('logs a failing handler a few times per connection, then counts', async () => {
    const warnings: string[] = [];
    const core = makeCore({ logger: { warn: (m) => warnings.push(m) } });
    core.handle('fail', () => {
      throw new Error('again');
    });
    const peer = await open(core);
    for (let i = 0; i < 20; i++) request(peer, 'fail', { how: 'x' });
    expect(warnings.filter((w) => w.includes("request handler 'fail' failed"))).toHaveLength(3);
  });
});
