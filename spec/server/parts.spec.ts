// The small parts of the server, each on its own: options, token bucket,
// depth scan, heartbeat, limited logging, frame encoding.
import { ErrorCode, RxwireTypeError } from '../../src/protocol/index.js';
import { Heartbeat } from '../../server/heartbeat.js';
import { exceedsDepth } from '../../server/json-depth.js';
import { LimitedLog, toLogger } from '../../server/logger.js';
import { resolveOptions } from '../../server/resolve-options.js';
import { TokenBucket } from '../../server/rate-limit.js';
import { createServer } from '../../server/index.js';
import { describeHandlerError, encodeFrame } from '../../server/frames.js';

describe('options', () => {
  it('applies the documented defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      path: '/ws',
      maxPayload: 1_048_576,
      maxDepth: 64,
      heartbeat: { interval: 25_000, timeout: 10_000 },
      helloTimeout: 10_000,
      rateLimit: { messages: 200, perMs: 1_000 },
      knownTypes: null,
      shutdownTimeout: 5_000,
      allowedOrigins: null,
    });
    expect(resolveOptions({ heartbeat: false, rateLimit: false })).toMatchObject({
      heartbeat: null,
      rateLimit: null,
    });
  });

  it.each<[string, () => unknown, RegExp]>([
    [
      'server and port together',
      () => createServer({ port: 0, server: {} as never }),
      /exactly one of `server`/,
    ],
    ['neither server nor port', () => createServer({}), /exactly one of `server`/],
    [
      'jwt with authenticate',
      () => createServer({ port: 0, jwt: { secret: 'a'.repeat(32) }, authenticate: () => null }),
      /`authenticate` or `jwt`/,
    ],
    ['jwt without a key', () => resolveAuth({ jwt: {} }), /exactly one of `jwt.secret`/],
    ['a negative helloTimeout', () => resolveOptions({ helloTimeout: -1 }), /`helloTimeout`/],
    [
      'a zero heartbeat interval',
      () => resolveOptions({ heartbeat: { interval: 0 } }),
      /`heartbeat.interval`/,
    ],
    ['a path without a slash', () => resolveOptions({ path: 'ws' }), /`path`/],
    [
      'a validator that is neither',
      () => resolveOptions({ validate: { x: 42 as never } }),
      /`validate.x`/,
    ],
  ])('rejects %s with RxwireTypeError RXWIRE_INVALID_OPTION', (_, make, message) => {
    let caught: unknown;
    try {
      make();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RxwireTypeError);
    expect((caught as RxwireTypeError).code).toBe(ErrorCode.InvalidOption);
    expect((caught as Error).message).toMatch(message);
  });

  it('matches allowedOrigins case-insensitively and lets requests without Origin through', () => {
    const check = resolveOptions({ allowedOrigins: ['https://App.example'] }).allowedOrigins!;
    const req = {} as never;
    expect(check('https://app.example', req)).toBe(true);
    expect(check('https://evil.example', req)).toBe(false);
    expect(check(undefined, req)).toBe(true);
  });
});

function resolveAuth(options: { jwt: object }): unknown {
  return createServer({ port: 0, ...options });
}

describe('TokenBucket', () => {
  it('allows a burst of `capacity`, then refills at capacity per perMs', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 1_000, () => now);
    for (let i = 0; i < 10; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now = 100; // one token back
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now = 10_000; // never more than capacity
    for (let i = 0; i < 10; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });
});

describe('exceedsDepth', () => {
  it('counts nesting outside strings only', () => {
    expect(exceedsDepth('[[[]]]', 3)).toBe(false);
    expect(exceedsDepth('[[[[]]]]', 3)).toBe(true);
    expect(exceedsDepth('{"a":{"b":{"c":1}}}', 3)).toBe(false);
    expect(exceedsDepth('["[[[[[[", "\\"[[[["]', 2)).toBe(false);
    expect(exceedsDepth('[1,[2],[3],[4]]', 2)).toBe(false);
  });

  it('decides the same whether the bracket count alone settles it or the full scan runs', () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    const wide = JSON.stringify({ rows: Array.from({ length: 200 }, (_, i) => ({ i, v: [i] })) });
    expect(exceedsDepth(deep(64), 64)).toBe(false);
    expect(exceedsDepth(deep(65), 64)).toBe(true);
    expect(exceedsDepth(`{"a":${deep(40)},"b":{"c":${deep(30)}}}`, 64)).toBe(false); // 72 brackets
    expect(exceedsDepth(`{"a":{"b":${deep(63)}}}`, 64)).toBe(true); // 65 deep, mixed brackets
    expect(exceedsDepth(wide, 64)).toBe(false); // 401 brackets, 3 deep
    expect(exceedsDepth(JSON.stringify('x'.repeat(3200)), 64)).toBe(false); // none
  });
});

describe('Heartbeat', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function peer(): { ping: jest.Mock; terminate: jest.Mock } {
    return { ping: jest.fn(), terminate: jest.fn() };
  }

  it('terminates a silent peer within interval + timeout, and spares one that answers', () => {
    const hb = new Heartbeat(1_000, 300);
    const silent = peer();
    const lively = peer();
    hb.watch(silent);
    const handle = lively;
    const livelyHandle = hb.watch(handle);
    lively.ping.mockImplementation(() => livelyHandle.alive());
    jest.advanceTimersByTime(1_000);
    expect(silent.ping).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(299);
    expect(silent.terminate).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(silent.terminate).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(10_000);
    expect(lively.terminate).not.toHaveBeenCalled();
    expect(lively.ping).toHaveBeenCalledTimes(11);
    hb.stop();
  });

  it('works when timeout is longer than interval (no re-ping resets the deadline)', () => {
    const hb = new Heartbeat(100, 250);
    const silent = peer();
    hb.watch(silent);
    jest.advanceTimersByTime(349);
    expect(silent.terminate).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(silent.terminate).toHaveBeenCalledTimes(1);
    expect(silent.ping).toHaveBeenCalledTimes(1);
    hb.stop();
  });

  it('watches a HeartbeatPeer itself (add/remove): pendingSweep 0 means it answered', () => {
    const hb = new Heartbeat(1_000, 300);
    const make = () => ({ pendingSweep: 7, ping: jest.fn(), unresponsive: jest.fn() });
    const silent = make();
    const lively = make();
    const gone = make();
    hb.add(silent);
    hb.add(lively);
    hb.add(gone);
    expect(silent.pendingSweep).toBe(0);
    hb.remove(gone);
    lively.ping.mockImplementation(() => (lively.pendingSweep = 0));
    jest.advanceTimersByTime(1_300);
    expect(silent.ping).toHaveBeenCalledTimes(1);
    expect(silent.unresponsive).toHaveBeenCalledTimes(1);
    expect(lively.unresponsive).not.toHaveBeenCalled();
    expect(gone.ping).not.toHaveBeenCalled();
    jest.advanceTimersByTime(5_000);
    expect(silent.ping).toHaveBeenCalledTimes(1); // no longer watched
    expect(lively.ping).toHaveBeenCalledTimes(6);
    hb.stop();
  });

  it('forgets removed peers and stops cleanly', () => {
    const hb = new Heartbeat(100, 50);
    const p = peer();
    hb.watch(p).remove();
    jest.advanceTimersByTime(1_000);
    expect(p.ping).not.toHaveBeenCalled();
    hb.stop();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('logging', () => {
  it('LimitedLog logs `limit` reports, a notice, then one summary at flush', () => {
    const lines: Array<[string, unknown]> = [];
    const log = new LimitedLog(
      toLogger({ warn: (m, c) => lines.push([m, c]) }),
      { session: 's1' },
      'bad frames',
      2,
    );
    for (let i = 0; i < 10; i++) log.report(`bad ${i}`, { code: 'X' });
    log.flush();
    expect(lines).toEqual([
      ['bad 0', { session: 's1', code: 'X' }],
      ['bad 1', { session: 's1', code: 'X' }],
      ['further bad frames on this connection are counted, not logged', { session: 's1' }],
      ['10 bad frames on this connection in total', { session: 's1' }],
    ]);
  });

  it('toLogger fills missing levels with no-ops and keeps `this`', () => {
    const sink = {
      lines: [] as string[],
      info(m: string) {
        this.lines.push(m);
      },
    };
    const logger = toLogger(sink);
    logger.info('a');
    expect(() => logger.debug('b')).not.toThrow();
    expect(sink.lines).toEqual(['a']);
  });
});

describe('frames', () => {
  it('encodes undefined payloads as null so the field is never missing', () => {
    expect(JSON.parse(encodeFrame('x', '1', undefined))).toMatchObject({ payload: null });
  });

  it('describes handler errors without stacks and cuts long messages', () => {
    expect(describeHandlerError('plain')).toEqual({
      code: ErrorCode.HandlerError,
      message: 'plain',
    });
    const long = describeHandlerError(new Error('x'.repeat(5_000)));
    expect(long.message.length).toBeLessThanOrEqual(1_003);
    expect(describeHandlerError(Object.assign(new Error('m'), { code: '' }))).toMatchObject({
      code: ErrorCode.HandlerError,
    });
  });
});
