import type { Envelope } from '../../src/index';
import { RemoteError, RequestTimeoutError } from '../../src/index';
import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

interface Chat {
  client: { typing: boolean };
  server: { presence: { online: number } };
  requests: { chat: { request: { text: string }; response: string } };
}

const requestOf = (sent: Envelope[]) => sent.find((e) => e.request === true)!;

describe('request streams', () => {
  it('emits each $next, completes on $complete, and sends the request with request: true', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { fake, client } = fakeClient<Chat>();
      client.connect();
      const reply$ = client.request('chat', { text: 'hi' });
      fake.scheduler.schedule(() => {
        const req = requestOf(fake.last!.envelopes);
        expect(req).toMatchObject({ type: 'chat', payload: { text: 'hi' } });
        fake.last!.push({ type: '$next', replyTo: req.id, payload: 'Hel' });
        fake.last!.push({ type: '$next', replyTo: req.id, payload: 'lo' });
        fake.last!.push({ type: '$complete', replyTo: req.id });
      }, 10);
      expectObservable(reply$).toBe('10ms (ab|)', { a: 'Hel', b: 'lo' });
      flush();
      expect(fake.last!.envelopes.some((e) => e.type === '$cancel')).toBe(false);
      client.disconnect();
    });
  });

  it('errors with RemoteError carrying the server code on $error', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Chat>();
      client.connect();
      fake.scheduler.schedule(() => {
        const req = requestOf(fake.last!.envelopes);
        fake.last!.push({
          type: '$error',
          replyTo: req.id,
          payload: { code: 'E_QUOTA', message: 'out of quota' },
        });
      }, 5);
      expectObservable(client.request('chat', { text: 'x' })).toBe(
        '5ms #',
        undefined,
        new RemoteError('E_QUOTA', 'out of quota', expect.any(String) as unknown as string),
      );
    });
  });

  it('sends $cancel when unsubscribed early, and nothing more arrives', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { fake, client } = fakeClient<Chat>();
      client.connect();
      const reply$ = client.request('chat', { text: 'long' });
      fake.scheduler.schedule(() => {
        const req = requestOf(fake.last!.envelopes);
        fake.last!.push({ type: '$next', replyTo: req.id, payload: 'one' });
      }, 5);
      fake.scheduler.schedule(() => {
        const req = requestOf(fake.last!.envelopes);
        fake.last!.push({ type: '$next', replyTo: req.id, payload: 'late' });
      }, 30);
      expectObservable(reply$, '^ 19ms !').toBe('5ms a', { a: 'one' });
      flush();
      const req = requestOf(fake.last!.envelopes);
      expect(fake.last!.envelopes.filter((e) => e.type === '$cancel')).toEqual([
        expect.objectContaining({ replyTo: req.id, payload: null }),
      ]);
    });
  });

  it('times out with RequestTimeoutError when no frame arrives, and cancels on the server', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const { fake, client } = fakeClient<Chat>({}, { requestTimeout: 1000 });
      client.connect();
      expectObservable(client.request('chat', { text: 'x' })).toBe(
        '1000ms #',
        undefined,
        new RequestTimeoutError('chat', 1000),
      );
      flush();
      expect(fake.last!.envelopes.map((e) => e.type)).toEqual(['$hello', 'chat', '$cancel']);
    });
  });

  it('the timeout is per frame: a steady stream never times out', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Chat>();
      client.connect();
      const reply$ = client.request('chat', { text: 'x' }, { timeout: 100 });
      for (const t of [80, 160, 240]) {
        fake.scheduler.schedule(() => {
          const req = requestOf(fake.last!.envelopes);
          fake.last!.push({ type: '$next', replyTo: req.id, payload: t });
        }, t);
      }
      expectObservable(reply$).toBe(
        '80ms a 79ms b 79ms c 99ms #',
        { a: 80, b: 160, c: 240 },
        new RequestTimeoutError('chat', 100),
      );
    });
  });

  it('a request made offline waits in the queue; unsubscribing removes it unsent', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Chat>();
      const sub = client.request('chat', { text: 'never' }).subscribe();
      expect(client.state.queued).toBe(1);
      sub.unsubscribe();
      expect(client.state.queued).toBe(0);
      client.connect();
      flush();
      expect(fake.last!.envelopes.map((e) => e.type)).toEqual(['$hello']);
      client.disconnect();
    });
  });

  it('is cold: each subscription sends its own request', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Chat>();
      client.connect();
      const reply$ = client.request('chat', { text: 'x' });
      const error = jest.fn();
      reply$.subscribe({ error });
      reply$.subscribe({ error });
      fake.scheduler.schedule(() => client.dispose(), 100);
      flush();
      expect(error).toHaveBeenCalledTimes(2);
      const ids = fake.last!.envelopes.filter((e) => e.request).map((e) => e.id);
      expect(new Set(ids).size).toBe(2);
      client.dispose();
    });
  });

  it('errors with RXWIRE_CONNECTION_LOST when the socket drops mid-stream and the client gives up', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Chat>(
        { resume: false },
        { reconnect: { jitter: 0, maxAttempts: 1 } },
      );
      client.connect();
      fake.scheduler.schedule(() => {
        fake.behavior = 'refuse';
        fake.last!.drop();
      }, 50);
      expectObservable(client.request('chat', { text: 'x' })).toBe(
        '50ms #',
        undefined,
        expect.objectContaining({ code: 'RXWIRE_CONNECTION_LOST' }),
      );
    });
  });

  it('continues a request in flight when the session resumes after a drop', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Chat>({}, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(
        () => fake.last!.push({ type: '$next', replyTo: requestId(), payload: { token: 'a' } }),
        10,
      );
      fake.scheduler.schedule(() => fake.last!.drop(), 50);
      // Reconnected and resumed at 1050 ms: the stream goes on.
      fake.scheduler.schedule(
        () => fake.last!.push({ type: '$next', replyTo: requestId(), payload: { token: 'b' } }),
        1100,
      );
      fake.scheduler.schedule(
        () => fake.last!.push({ type: '$complete', replyTo: requestId() }),
        1200,
      );
      expectObservable(client.request('chat', { text: 'x' })).toBe('10ms a 1089ms b 99ms |', {
        a: { token: 'a' },
        b: { token: 'b' },
      });
      function requestId(): string {
        return fake.sockets[0]!.messages.find((m) => m.type === 'chat')!.id;
      }
    });
  });

  it('errors with RXWIRE_SESSION_LOST when the server starts a new session instead of resuming', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Chat>({}, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => {
        fake.resume = false; // as if the recovery window passed
        fake.last!.drop();
      }, 50);
      expectObservable(client.request('chat', { text: 'x' })).toBe(
        '1050ms #',
        undefined,
        expect.objectContaining({ code: 'RXWIRE_SESSION_LOST' }),
      );
    });
  });

  it('errors pending requests with RXWIRE_DISPOSED on dispose()', () => {
    const { client } = fakeClient<Chat>();
    const error = jest.fn();
    client.request('chat', { text: 'x' }).subscribe({ error });
    client.dispose();
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ code: 'RXWIRE_DISPOSED' }));
  });

  it('rejects reserved types at call time', () => {
    const { client } = fakeClient();
    expect(() => client.send('$hello', {})).toThrow(
      expect.objectContaining({ code: 'RXWIRE_RESERVED_TYPE' }),
    );
    expect(() => client.request('$next', {})).toThrow(TypeError);
    expect(() => client.send('', {})).toThrow(TypeError);
    client.dispose();
  });
});
