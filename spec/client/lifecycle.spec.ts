// What a new user hit in the first hour (issue 16): connect() right after
// disconnect(), promises that never settled after the client stopped, and a
// `state` that was a new object on every read. Virtual time, public API only.
import { map } from 'rxjs';
import { createClient, type ClientOptions, type RxwireError } from '../../src/index';
import { FakeServer } from '../../src/testing/index';
import { S, statuses, testScheduler } from '../helpers/marbles';

const url = 'ws://fake.test/ws';

function client(fake: FakeServer, options: ClientOptions = {}) {
  return createClient({
    url,
    WebSocketCtor: fake.WebSocket,
    heartbeat: false,
    ...options,
    reconnect: options.reconnect === false ? false : { jitter: 0, ...options.reconnect },
  });
}

/** Records how a promise settled (reactions run after the virtual run, see `settle`). */
function track(promise: Promise<unknown>) {
  const outcome: { settled?: boolean; value?: unknown; error?: RxwireError } = {};
  promise.then(
    (value) => Object.assign(outcome, { settled: true, value }),
    (error: RxwireError) => Object.assign(outcome, { settled: true, error }),
  );
  return outcome;
}

/** Lets promise reactions run (they are microtasks, outside virtual time). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('connect() right after disconnect()', () => {
  it('ends connected while the close handshake is still pending', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      // The fake answers the client's close frame after 300 ms, like a slow network.
      const fake = new FakeServer({ welcomeDelay: 10, closeDelay: 300 });
      const c = client(fake);
      fake.scheduler.schedule(() => {
        c.disconnect();
        c.connect(); // a Reconnect button, a sign-out/sign-in, a remount
      }, 1000);
      expectObservable(statuses(c.state$)).toBe('c 9ms o 989ms (gdc) 5ms o', S);
      flush();
      expect(c.state.status).toBe('connected');
      expect(fake.sockets).toHaveLength(2);
      expect(fake.sockets[0]!.clientClose).toEqual({ code: 1000, reason: '' });
      // The first session was closed with 1000: the second connection is a new one.
      expect(c.state.resumed).toBe(false);
      c.dispose();
    });
  });

  it('stays connected when connect() is called again while connected (idempotent)', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const c = client(fake);
      fake.scheduler.schedule(() => c.connect(), 100);
      flush();
      expect(fake.sockets).toHaveLength(1);
      expect(c.state.status).toBe('connected');
      c.dispose();
    });
  });
});

describe('everything waiting on the connection fails when the client stops', () => {
  it('gave up: a pending sendConfirmed without timeout and a queued request fail with RXWIRE_RECONNECT_FAILED', async () => {
    let confirmed: ReturnType<typeof track> | undefined;
    let requestError: RxwireError | undefined;
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'refuse' }); // nothing listening
      const c = client(fake, { reconnect: { maxAttempts: 2 } });
      confirmed = track(c.sendConfirmed('order', { id: 1 }));
      c.request('chat', { text: 'hi' }).subscribe({
        error: (e: RxwireError) => (requestError = e),
      });
      c.send('note', 'stays queued');
      flush();
      expect(c.state.status).toBe('error');
      expect(c.state.queued).toBe(1); // the plain send waits for the next connect()
    });
    await settle();
    expect(confirmed!.error?.code).toBe('RXWIRE_RECONNECT_FAILED');
    expect(confirmed!.error?.message).toMatch(/after 2 retries/);
    expect((confirmed!.error?.cause as RxwireError).code).toBe('RXWIRE_CONNECTION_CLOSED');
    expect(requestError?.code).toBe('RXWIRE_RECONNECT_FAILED');
  });

  it('a token() that throws: the client gives up and the promise fails instead of hanging', async () => {
    let confirmed: ReturnType<typeof track> | undefined;
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const c = client(fake, {
        token: () => {
          throw new Error('no session cookie');
        },
        reconnect: { maxAttempts: 1 },
      });
      confirmed = track(c.sendConfirmed('order', { id: 1 }));
      flush();
      expect(fake.sockets).toHaveLength(0); // no socket without a token
    });
    await settle();
    expect(confirmed!.error?.code).toBe('RXWIRE_RECONNECT_FAILED');
    expect((confirmed!.error?.cause as RxwireError).code).toBe('RXWIRE_TOKEN_FAILED');
  });

  it('a fatal close: RXWIRE_CONNECTION_LOST with the close as the cause, for sent and queued alike', async () => {
    let sent: ReturnType<typeof track> | undefined;
    const errors: RxwireError[] = [];
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ ackDelay: 1_000_000 }); // never acknowledges in time
      const c = client(fake);
      fake.scheduler.schedule(() => {
        sent = track(c.sendConfirmed('order', { id: 1 }));
        c.request('chat', { text: 'in flight' }).subscribe({ error: (e) => errors.push(e) });
        fake.last!.serverClose(4403, 'banned');
      }, 100);
      flush();
      expect(c.state.status).toBe('error');
    });
    await settle();
    expect(sent!.error?.code).toBe('RXWIRE_CONNECTION_LOST');
    expect(sent!.error?.message).toMatch(/4403/);
    expect(errors.map((e) => e.code)).toEqual(['RXWIRE_CONNECTION_LOST']);
  });

  it('disconnect(): RXWIRE_CONNECTION_LOST at once; calls made afterwards fail at once too', async () => {
    let before: ReturnType<typeof track> | undefined;
    let after: ReturnType<typeof track> | undefined;
    let requestAfter: RxwireError | undefined;
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ behavior: 'hang' }); // never connects
      const c = client(fake);
      before = track(c.sendConfirmed('order', { id: 1 }));
      fake.scheduler.schedule(() => c.disconnect(), 50);
      fake.scheduler.schedule(() => {
        after = track(c.sendConfirmed('order', { id: 2 }));
        c.request('chat', { text: 'x' }).subscribe({ error: (e) => (requestAfter = e) });
      }, 60);
      flush();
      expect(c.state.status).toBe('disconnected');
    });
    await settle();
    expect(before).toMatchObject({ error: { code: 'RXWIRE_CONNECTION_LOST' } });
    expect(after).toMatchObject({ error: { code: 'RXWIRE_CONNECTION_LOST' } });
    expect(after!.error!.message).toMatch(/connect\(\)/);
    expect(requestAfter?.code).toBe('RXWIRE_CONNECTION_LOST');
  });

  it('a confirmed send that failed is not resent to the next session', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer({ ackDelay: 1_000_000 });
      const c = client(fake);
      fake.scheduler.schedule(() => {
        c.sendConfirmed('order', { id: 1 }).catch(() => undefined);
        c.send('note', 'plain');
        c.disconnect();
      }, 100);
      fake.scheduler.schedule(() => c.connect(), 10_000);
      flush();
      const second = fake.sockets[1]!.envelopes.filter((e) => !e.type.startsWith('$'));
      // The plain message is resent (at least once across sessions); the order was failed, not resent.
      expect(second.map((e) => e.type)).toEqual(['note']);
      c.dispose();
    });
  });
});

describe('client.state as a snapshot', () => {
  it('is the same frozen object while nothing changed, and a new one after a change', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const c = client(fake, { autoConnect: false });
      const idle = c.state;
      expect(c.state).toBe(idle);
      expect(Object.isFrozen(idle)).toBe(true);
      c.connect();
      flush();
      const connected = c.state;
      expect(connected).not.toBe(idle);
      expect(connected.status).toBe('connected');
      expect(c.state).toBe(connected);
      c.dispose();
    });
  });

  it('emits the same object on state$ that state returns', () => {
    testScheduler().run(({ flush }) => {
      const fake = new FakeServer();
      const c = client(fake);
      const seen: unknown[] = [];
      c.state$.pipe(map((s) => s === c.state)).subscribe((same) => seen.push(same));
      flush();
      expect(seen.every(Boolean)).toBe(true);
      c.dispose();
    });
  });
});
