// The README's marble examples, verbatim (spec/docs/readme-blocks.spec.ts
// checks it), so the documentation cannot drift from what the code does.
import { TestScheduler } from 'rxjs/testing';
import { distinctUntilChanged, map } from 'rxjs';
import { createClient } from 'rxwire';
import { FakeServer } from 'rxwire/testing';

// #region readme-marble-retries
it('retries 5 times, at 1, 3, 7, 15 and 31 s, then gives up', () => {
  new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ expectObservable, flush }) => {
    const fake = new FakeServer({ behavior: 'refuse' }); // every attempt fails like an unreachable host
    const client = createClient({ WebSocketCtor: fake.WebSocket, reconnect: { jitter: 0 } });

    // one socket per attempt (connections$ replays the ones already made)
    expectObservable(fake.connections$.pipe(map(() => 'x'))).toBe(
      'x 999ms x 1999ms x 3999ms x 7999ms x 15999ms x',
    );
    const status$ = client.state$.pipe(
      map((s) => s.status),
      distinctUntilChanged(),
    );
    expectObservable(status$).toBe('r 30999ms e', { r: 'reconnecting', e: 'error' });

    flush();
    expect(client.state.error?.code).toBe('RXWIRE_RECONNECT_FAILED');
  });
});
// #endregion

// #region readme-marble-resume
it('resumes the same session 1 s after a drop', () => {
  new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ expectObservable }) => {
    const fake = new FakeServer();
    const client = createClient({ WebSocketCtor: fake.WebSocket, reconnect: { jitter: 0 } });
    fake.scheduler.schedule(() => fake.last!.drop(), 100);
    // End the client: its heartbeat would keep virtual time running forever.
    fake.scheduler.schedule(() => client.dispose(), 5_000);

    expectObservable(client.sessions$).toBe('a 1099ms b 3899ms |', {
      a: { sessionId: 'fake-session-1', resumed: false },
      b: { sessionId: 'fake-session-1', resumed: true }, // reconnected after 1 s, same session
    });
  });
});
// #endregion
