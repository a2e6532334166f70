import { QueueFullError, type Logger } from '../../src/index';
import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

describe('offline queue', () => {
  it('queues while offline and flushes in order on connect, before anything sent after', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient({ behavior: 'refuse' });
      client.connect();
      client.send('a', 1);
      client.send('b', 2);
      expect(client.state.queued).toBe(2);
      // a send made in reaction to `connected` must come after the queued ones
      client.state$.subscribe((s) => {
        if (s.status === 'connected' && fake.last!.messages.length === 2) client.send('c', 3);
      });
      fake.scheduler.schedule(() => (fake.behavior = 'accept'), 500);
      flush();
      expect(fake.last!.messages.map((m) => [m.type, m.payload])).toEqual([
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ]);
      expect(client.state).toMatchObject({ status: 'connected', queued: 0, dropped: 0 });
      client.disconnect();
    });
  });

  it('sends $hello before any queued message', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient({}, { token: 'secret' });
      client.send('early', true);
      client.connect();
      flush();
      expect(fake.last!.envelopes.map((e) => e.type)).toEqual(['$hello', 'early']);
      expect(fake.last!.envelopes[0]!.payload).toEqual({
        v: 1,
        token: 'secret',
        client: 'rxwire-js',
      });
    });
  });

  it('drop-oldest keeps the newest `limit` messages and counts the drops', () => {
    testScheduler().run(({ flush }) => {
      const warn = jest.fn();
      const logger: Logger = { debug: jest.fn(), info: jest.fn(), warn, error: jest.fn() };
      const { fake, client } = fakeClient({}, { queue: { limit: 3 }, logger });
      for (let i = 1; i <= 5; i++) client.send('n', i);
      expect(client.state).toMatchObject({ queued: 3, dropped: 2 });
      expect(warn).toHaveBeenCalledTimes(2);
      client.connect();
      flush();
      expect(fake.last!.messages.map((m) => m.payload)).toEqual([3, 4, 5]);
      expect(client.state).toMatchObject({ queued: 0, dropped: 2 });
    });
  });

  it('drop-newest keeps the oldest `limit` messages', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient({}, { queue: { limit: 2, overflow: 'drop-newest' } });
      for (let i = 1; i <= 4; i++) client.send('n', i);
      expect(client.state).toMatchObject({ queued: 2, dropped: 2 });
      client.connect();
      flush();
      expect(fake.last!.messages.map((m) => m.payload)).toEqual([1, 2]);
    });
  });

  it("overflow 'error' throws QueueFullError and keeps the queue intact", () => {
    const { client } = fakeClient({}, { queue: { limit: 1, overflow: 'error' } });
    client.send('n', 1);
    let error: unknown;
    try {
      client.send('n', 2);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ code: 'RXWIRE_QUEUE_FULL', limit: 1 });
    expect(client.state).toMatchObject({ queued: 1, dropped: 0 });
    client.dispose();
  });

  it('keeps queued messages across a failed attempt and a give-up, for a later reconnect()', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient(
        { behavior: 'refuse' },
        { reconnect: { maxAttempts: 2, jitter: 0 } },
      );
      client.connect();
      client.send('kept', 1);
      fake.scheduler.schedule(() => {
        fake.behavior = 'accept';
        client.reconnect();
      }, 10_000);
      flush();
      expect(fake.last!.messages.map((m) => m.type)).toEqual(['kept']);
    });
  });

  it('a send while the socket is closing is queued, not lost', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient({}, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => {
        const socket = fake.last!;
        socket.readyState = 2; // CLOSING, close event not delivered yet
        client.send('during-close', 1);
        socket.drop();
      }, 100);
      flush();
      expect(fake.sockets).toHaveLength(2);
      expect(fake.sockets[0]!.messages).toHaveLength(0);
      expect(fake.sockets[1]!.messages.map((m) => m.type)).toEqual(['during-close']);
    });
  });
});

it('sends payload null, never a missing field, when the payload is undefined', () => {
  testScheduler().run(({ flush }) => {
    const { fake, client } = fakeClient();
    client.connect();
    flush();
    client.send('bare', undefined);
    const frame = fake.last!.sent.find(
      (f) => typeof f === 'string' && f.includes('"bare"'),
    ) as string;
    expect(JSON.parse(frame)).toHaveProperty('payload', null);
    client.dispose();
  });
});
