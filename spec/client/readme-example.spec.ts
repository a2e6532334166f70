// The README's marble example, verbatim (imports adjusted to the source tree),
// so the documentation cannot drift from what the code does.
import { TestScheduler } from 'rxjs/testing';
import { distinctUntilChanged, map } from 'rxjs';
import { createClient } from '../../src/index';
import { FakeServer } from '../../src/testing/index';

it('retries at 1, 3, 7, 15 and 31 s, then gives up', () => {
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
