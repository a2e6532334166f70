// The client's half of the in-band token refresh, in virtual time: `$refresh`
// from the server makes it call `token()` and answer `$auth` on the same
// connection, which stays up.
import { createClient, type RxwireError } from 'rxwire';
import { FakeServer } from 'rxwire/testing';
import { testScheduler } from '../helpers/marbles';

it('answers $refresh with $auth {token} from token(), without reconnecting', () => {
  testScheduler().run(({ flush }) => {
    const fake = new FakeServer();
    let issued = 0;
    const client = createClient({
      WebSocketCtor: fake.WebSocket,
      heartbeat: false,
      token: () => `token-${++issued}`,
    });
    fake.scheduler.schedule(
      () =>
        fake.last!.push({
          type: '$refresh',
          id: 'r1',
          payload: { expiresAt: '2030-01-01T00:00:00.000Z' },
        }),
      1_000,
    );
    flush();
    const auth = fake.last!.envelopes.filter((e) => e.type === '$auth');
    expect(auth).toEqual([
      expect.objectContaining({ replyTo: 'r1', payload: { token: 'token-2' } }),
    ]);
    expect(auth[0]!.seq).toBeUndefined(); // bound to this connection, never resent
    expect(fake.sockets).toHaveLength(1);
    expect(client.state.status).toBe('connected');
    client.dispose();
  });
});

it('reports a token() that fails on errors$ and keeps the connection', () => {
  testScheduler().run(({ flush }) => {
    const fake = new FakeServer();
    let calls = 0;
    const client = createClient({
      WebSocketCtor: fake.WebSocket,
      heartbeat: false,
      token: () => {
        if (++calls > 1) throw new Error('refresh endpoint down');
        return 'first';
      },
    });
    const errors: RxwireError[] = [];
    client.errors$.subscribe((e) => errors.push(e));
    fake.scheduler.schedule(
      () =>
        fake.last!.push({ type: '$refresh', payload: { expiresAt: '2030-01-01T00:00:00.000Z' } }),
      500,
    );
    flush();
    expect(errors.map((e) => e.code)).toEqual(['RXWIRE_TOKEN_FAILED']);
    expect(fake.last!.envelopes.filter((e) => e.type === '$auth')).toHaveLength(0);
    expect(client.state.status).toBe('connected');
    client.dispose();
  });
});
