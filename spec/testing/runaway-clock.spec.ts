// A user's first marble test must never hang: a client whose heartbeat keeps
// scheduling would make TestScheduler.run's flush spin forever. The fake
// server notices virtual time running away and fails the test with an error
// that says what to do.
import { TestScheduler } from 'rxjs/testing';
import { createClient } from '../../src/index';
import { FakeServer, RunawayClockError } from '../../src/testing/index';

const scheduler = () => new TestScheduler((a, b) => expect(a).toEqual(b));

it('throws RunawayClockError out of run() instead of spinning when the heartbeat never stops', () => {
  let thrown: unknown;
  try {
    scheduler().run(({ expectObservable }) => {
      const fake = new FakeServer({ maxVirtualTime: 600_000 });
      const client = createClient({ WebSocketCtor: fake.WebSocket, reconnect: { jitter: 0 } });
      expectObservable(client.sessions$).toBe('a', {
        a: { sessionId: 'fake-session-1', resumed: false },
      });
    });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RunawayClockError);
  expect((thrown as Error).message).toMatch(/client\.dispose\(\)/);
  expect((thrown as Error).message).toMatch(/heartbeat: false/);
});

it('trips with reconnect.maxAttempts: Infinity against a server that never answers', () => {
  expect(() =>
    scheduler().run(() => {
      const fake = new FakeServer({ behavior: 'refuse' });
      createClient({
        WebSocketCtor: fake.WebSocket,
        reconnect: { maxAttempts: Infinity, jitter: 0 },
      });
    }),
  ).toThrow(RunawayClockError);
});

it('does not trip when the test ends the client', () => {
  scheduler().run(({ flush }) => {
    const fake = new FakeServer();
    const client = createClient({ WebSocketCtor: fake.WebSocket });
    fake.scheduler.schedule(() => client.dispose(), 3_010_000); // 50 virtual minutes of heartbeats
    flush();
    expect(fake.sockets[0]!.envelopes.filter((e) => e.type === '$ping')).toHaveLength(120);
  });
});
