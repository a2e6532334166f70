import { map } from 'rxjs';
import { CloseCode, createClient, type ClientOptions } from '../../src/index';
import { FakeServer } from '../../src/testing/index';
import { S, statuses, testScheduler } from '../helpers/marbles';

const url = 'ws://fake.test/ws';

/**
 * A client on the fake server. It connects at frame 0, after the test's marble
 * subscriptions (an action scheduled from a frame-0 action runs after those queued
 * before it), so `state$` is observed from `idle`.
 */
function setup(fake: FakeServer, options: ClientOptions = {}) {
  const client = createClient({
    url,
    WebSocketCtor: fake.WebSocket,
    autoConnect: false,
    heartbeat: false,
    ...options,
    reconnect: options.reconnect === false ? false : { jitter: 0, ...options.reconnect },
  });
  fake.scheduler.schedule(() => fake.scheduler.schedule(() => client.connect()));
  return client;
}

describe('reconnection timing (virtual time)', () => {
  it('retries 5 times after the first attempt (at 1, 3, 7, 15 and 31 s), then gives up with status error', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      const client = setup(fake);
      expectObservable(fake.connections$.pipe(map(() => 'x'))).toBe(
        'x 999ms x 1999ms x 3999ms x 7999ms x 15999ms x',
      );
      expectObservable(statuses(client.state$)).toBe('(icr) 30995ms e', S);
      flush();
      expect(fake.createdAt).toEqual([0, 1000, 3000, 7000, 15000, 31000]);
      expect(client.state).toMatchObject({
        status: 'error',
        attempt: 5,
        maxAttempts: 5,
        error: { code: 'RXWIRE_RECONNECT_FAILED' },
        lastClose: { code: 1006, wasClean: false },
      });
    });
  });

  it('reports the attempt number and the wait while backing off', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      const client = setup(fake, { reconnect: { maxAttempts: 3 } });
      expectObservable(
        client.state$.pipe(
          map((s) => `${s.status} ${s.attempt}/${s.maxAttempts} ${s.retryInMs ?? '-'}`),
        ),
      ).toBe('(abc) 995ms (de) 1996ms (fg) 3996ms (hi)', {
        a: 'idle 0/3 -',
        b: 'connecting 0/3 -',
        c: 'reconnecting 1/3 1000', // waiting 1 s before retry 1
        d: 'reconnecting 1/3 -', // retry 1 under way
        e: 'reconnecting 2/3 2000',
        f: 'reconnecting 2/3 -',
        g: 'reconnecting 3/3 4000',
        h: 'reconnecting 3/3 -',
        i: 'error 3/3 -',
      });
      flush();
      expect(client.state.retryAt).toBeUndefined();
    });
  });

  it('caps the wait at maxDelay: 1, 2, 4, 8, 16, 30, 30 s with jitter 0', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      setup(fake, { reconnect: { maxAttempts: 7 } });
      flush();
      const waits = fake.createdAt.slice(1).map((t, i) => t - fake.createdAt[i]!);
      expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    });
  });

  it('resets the attempt count once connected: the next drop waits 1 s again', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      const client = setup(fake);
      fake.scheduler.schedule(() => (fake.behavior = 'accept'), 2500); // third attempt (3000) succeeds
      fake.scheduler.schedule(() => fake.last!.drop(), 10_000);
      flush();
      expect(fake.createdAt).toEqual([0, 1000, 3000, 11_000]);
      expect(client.state).toMatchObject({ status: 'connected', attempt: 0 });
    });
  });

  it('gives every attempt after a reset the full maxAttempts', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const client = setup(fake, { reconnect: { maxAttempts: 2 } });
      fake.scheduler.schedule(() => {
        fake.behavior = 'refuse';
        fake.last!.drop();
      }, 100);
      flush();
      // drop at 100 -> retry 1 at 1100 -> retry 2 at 3100 -> give up
      expect(fake.createdAt).toEqual([0, 1100, 3100]);
      expect(client.state.status).toBe('error');
    });
  });

  it('never reconnects after disconnect()', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer();
      const client = setup(fake);
      fake.scheduler.schedule(() => client.disconnect(), 5000);
      expectObservable(statuses(client.state$)).toBe('(ico) 4995ms (gd)', S);
      flush();
      expect(fake.sockets).toHaveLength(1);
      expect(fake.sockets[0]!.clientClose).toEqual({ code: 1000, reason: '' });
      expect(client.state.lastClose).toEqual({ code: 1000, reason: '', wasClean: true });
    });
  });

  it('disconnect() during a backoff wait stops at once', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      const client = setup(fake);
      fake.scheduler.schedule(() => client.disconnect(), 500);
      expectObservable(statuses(client.state$)).toBe('(icr) 495ms d', S);
      flush();
      expect(fake.sockets).toHaveLength(1);
    });
  });

  it('does not reconnect after the server closes with 1000', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer();
      const client = setup(fake);
      fake.scheduler.schedule(() => fake.last!.serverClose(CloseCode.Normal, 'bye'), 200);
      expectObservable(statuses(client.state$)).toBe('(ico) 195ms d', S);
      flush();
      expect(fake.sockets).toHaveLength(1);
      expect(client.state.lastClose).toEqual({ code: 1000, reason: 'bye', wasClean: true });
      expect(client.state.error).toBeUndefined();
    });
  });

  it.each([
    ['1001 going away', CloseCode.GoingAway],
    ['1011 server error', CloseCode.InternalError],
    ['1012 restart', CloseCode.ServiceRestart],
    ['1013 try later', CloseCode.TryAgainLater],
    ['4408 hello timeout', CloseCode.HelloTimeout],
    ['4429 rate limited', CloseCode.TooManyRequests],
  ])('reconnects with backoff after %s', (_name, code) => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer();
      const client = setup(fake);
      fake.scheduler.schedule(() => fake.last!.serverClose(code), 200);
      expectObservable(statuses(client.state$)).toBe('(ico) 195ms r 999ms o', S);
      flush();
      expect(fake.createdAt).toEqual([0, 1200]);
      expect(client.state.lastClose).toEqual({ code, reason: '', wasClean: true });
    });
  });

  it('reconnects with backoff after 1006 (connection dropped)', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer();
      const client = setup(fake);
      fake.scheduler.schedule(() => fake.last!.drop(), 200);
      expectObservable(statuses(client.state$)).toBe('(ico) 195ms r 999ms o', S);
      flush();
      expect(fake.createdAt).toEqual([0, 1200]);
      expect(client.state.lastClose).toEqual({ code: 1006, reason: '', wasClean: false });
    });
  });

  it.each([
    ['4400 bad request', CloseCode.BadRequest],
    ['4403 forbidden', CloseCode.Forbidden],
    ['4409 duplicate session', CloseCode.DuplicateSession],
    ['1008 policy', CloseCode.PolicyViolation],
    ['1009 too big', CloseCode.MessageTooBig],
  ])('stops with status error after %s', (_name, code) => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer();
      const client = setup(fake);
      fake.scheduler.schedule(() => fake.last!.serverClose(code, 'no'), 200);
      expectObservable(statuses(client.state$)).toBe('(ico) 195ms e', S);
      flush();
      expect(fake.sockets).toHaveLength(1);
      expect(client.state.error).toMatchObject({
        code: 'RXWIRE_CONNECTION_CLOSED',
        close: { code },
      });
    });
  });

  it('retries 4401 once at once with a fresh token, then stops', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      let issued = 0;
      const seen: (string | undefined)[] = [];
      const fake = new FakeServer({
        welcome: (hello) => {
          seen.push(hello.token);
          return { code: CloseCode.Unauthorized, reason: 'token expired' };
        },
      });
      const client = setup(fake, { token: () => `token-${++issued}` });
      // the immediate retry is still part of connecting; no backoff in between
      expectObservable(statuses(client.state$)).toBe('(ice)', S);
      flush();
      expect(fake.createdAt).toEqual([0, 0]);
      expect(seen).toEqual(['token-1', 'token-2']);
      expect(client.state).toMatchObject({
        status: 'error',
        error: { code: 'RXWIRE_UNAUTHORIZED', close: { code: 4401 } },
      });
    });
  });

  it('connects when the fresh token after a 4401 is accepted, and allows one more retry later', () => {
    testScheduler().run(({ flush }) => {
      let issued = 0;
      const fake = new FakeServer({
        welcome: (hello) =>
          hello.token === 'token-1' || hello.token === 'token-3' ? { code: 4401 } : true,
      });
      const client = setup(fake, { token: () => `token-${++issued}` });
      fake.scheduler.schedule(
        () => fake.last!.serverClose(CloseCode.Unauthorized, 'expired'),
        5000,
      );
      flush();
      // 0: token-1 refused, 0: token-2 ok; 5000: expired, at once token-3 refused -> fatal
      expect(fake.createdAt).toEqual([0, 0, 5000]);
      expect(client.state.status).toBe('error');
      expect(issued).toBe(3);
    });
  });

  it('counts a missing $welcome as a failed attempt after connectTimeout', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer({ welcome: false });
      const client = setup(fake, { connectTimeout: 2000, reconnect: { maxAttempts: 1 } });
      expectObservable(statuses(client.state$)).toBe('(ic) 1996ms r 2999ms e', S);
      flush();
      expect(fake.createdAt).toEqual([0, 3000]);
      expect(fake.sockets[0]!.readyState).toBe(3); // the stale socket was closed
      expect(client.state.error).toMatchObject({ code: 'RXWIRE_RECONNECT_FAILED' });
      expect((client.state.error?.cause as { code: string }).code).toBe('RXWIRE_CONNECT_TIMEOUT');
    });
  });

  it('times out a socket that never opens', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'hang' });
      // maxAttempts: 1 -> the first attempt times out at 10 s and is retried once at 11 s
      const client = setup(fake, { connectTimeout: 10_000, reconnect: { maxAttempts: 1 } });
      flush();
      expect(fake.createdAt).toEqual([0, 11_000]);
      expect(client.state.status).toBe('error');
    });
  });

  it('closes the socket and reconnects when a $pong is missing (heartbeat timeout)', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const fake = new FakeServer({ pong: false });
      const client = setup(fake, { heartbeat: { interval: 25_000, timeout: 10_000 } });
      fake.scheduler.schedule(() => client.disconnect(), 37_000); // heartbeats would run forever
      // ping at 25 s, no pong by 35 s: close, wait 1 s, reconnect at 36 s
      expectObservable(statuses(client.state$)).toBe('(ico) 34995ms r 999ms o 999ms (gd)', S);
      flush();
      expect(fake.createdAt).toEqual([0, 36_000]);
      const first = fake.sockets[0]!;
      expect(first.envelopes.filter((e) => e.type === '$ping')).toHaveLength(1);
      expect(first.readyState).toBe(3);
      expect(first.clientClose).toEqual({}); // abandoned without a code: the server sees 1005
    });
  });

  it('measures latency from $welcome and from each $pong', () => {
    testScheduler().run(({ expectObservable }) => {
      const fake = new FakeServer({ welcomeDelay: 30, pongDelay: 50 });
      const client = setup(fake, { heartbeat: { interval: 1000, timeout: 500 } });
      fake.scheduler.schedule(() => client.disconnect(), 2500);
      expectObservable(client.latency$).toBe('30ms a 1049ms b 999ms b', { a: 30, b: 50 });
    });
  });

  it('cuts a pending backoff short on a wake-up (online, page visible)', () => {
    testScheduler().run(({ hot, flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      setup(fake, { reconnect: { initialDelay: 10_000, maxAttempts: 2 }, wakeups: hot('300ms w') });
      flush();
      // The wake-up at 300 ms starts retry 1 early; retry 2 waits its full 20 s.
      expect(fake.createdAt).toEqual([0, 300, 20_300]);
    });
  });

  it('reconnect() leaves the error state and starts over with a fresh count', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' });
      const client = setup(fake, { reconnect: { maxAttempts: 0 } });
      fake.scheduler.schedule(() => {
        fake.behavior = 'accept';
        client.reconnect();
      }, 60_000);
      flush();
      expect(fake.createdAt).toEqual([0, 60_000]);
      expect(client.state).toMatchObject({ status: 'connected', attempt: 0 });
      expect(client.state.error).toBeUndefined();
    });
  });

  it('honours a custom shouldReconnect', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const client = setup(fake, {
        shouldReconnect: (close) =>
          close.code === 4000 ? 'fatal' : close.code === 1000 ? true : undefined,
      });
      fake.scheduler.schedule(() => fake.last!.serverClose(1000), 100); // reconnects (custom)
      fake.scheduler.schedule(() => fake.last!.serverClose(4000), 5000); // fatal (custom)
      flush();
      expect(fake.createdAt).toEqual([0, 1100]);
      expect(client.state.status).toBe('error');
    });
  });

  it('with reconnect: false, a drop ends in disconnected', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const client = setup(fake, { reconnect: false });
      fake.scheduler.schedule(() => fake.last!.drop(), 100);
      flush();
      expect(fake.sockets).toHaveLength(1);
      expect(client.state).toMatchObject({
        status: 'disconnected',
        maxAttempts: 0,
        lastClose: { code: 1006 },
      });
    });
  });
});
