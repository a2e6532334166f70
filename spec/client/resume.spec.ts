// Resume and acks in virtual time, against the FakeServer of rxwire/testing:
// when the resume happens, what is resent, what is dropped as a repeat, and
// what the client reports when the server starts a new session instead.
import { distinctUntilChanged, map } from 'rxjs';
import type { Protocol } from '../../src/index';
import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

interface Api extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number } };
}

describe('resume (virtual time)', () => {
  it('resumes the same session after a drop, on the backoff schedule', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Api>({}, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => fake.last!.drop(), 100);
      fake.scheduler.schedule(() => client.dispose(), 2_000);
      expectObservable(client.sessions$).toBe('a 1099ms b 899ms |', {
        a: { sessionId: 'fake-session-1', resumed: false },
        b: { sessionId: 'fake-session-1', resumed: true },
      });
      expectObservable(
        client.state$.pipe(
          map((s) => s.resumed ?? null),
          distinctUntilChanged(),
        ),
      ).toBe('(nf) 1096ms t 899ms |', { n: null, f: false, t: true });
    });
  });

  it('resends, once and in order, what the server had not acknowledged, then what waited', () => {
    testScheduler().run(({ flush }) => {
      // The fake acknowledges 500 ms late: the drop at 100 ms catches 2 unacknowledged.
      const { fake, client } = fakeClient<Api>({ ackDelay: 500 }, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => {
        client.send('up', { n: 1 });
        client.send('up', { n: 2 });
      }, 10);
      fake.scheduler.schedule(() => {
        fake.last!.drop();
        client.send('up', { n: 3 }); // sent while away: queued
      }, 100);
      flush();
      const [first, second] = fake.sockets;
      expect(first!.messages.map((m) => [m.seq, m.payload])).toEqual([
        [1, { n: 1 }],
        [2, { n: 2 }],
      ]);
      // The fake never received an ack for them before the drop... but it did
      // receive them, so the resume's ack (2) covers them: nothing is resent.
      expect(second!.messages.map((m) => [m.seq, m.payload])).toEqual([[3, { n: 3 }]]);
      expect(client.state).toMatchObject({ resent: 0, unacked: 0, queued: 0 });
    });
  });

  it('resends what the server never received when the connection died with it in flight', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Api>({ ackDelay: 500 }, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => {
        client.send('up', { n: 1 });
        client.send('up', { n: 2 });
      }, 10);
      fake.scheduler.schedule(() => {
        fake.last!.drop();
        // As if seq 2 had died in a buffer with the connection: the server got only 1.
        fake.sessionsById.get('fake-session-1')!.received = 1;
      }, 100);
      flush();
      const resumed = fake.sockets[1]!;
      expect(resumed.resumed).toBe(true);
      expect(resumed.messages.map((m) => [m.seq, m.id, m.payload])).toEqual([
        [2, fake.sockets[0]!.messages[1]!.id, { n: 2 }], // same id and seq as the first time
      ]);
      expect(client.state).toMatchObject({ resent: 1, unacked: 0 });
    });
  });

  it('drops a repeated server frame and counts it', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Api>();
      const got: number[] = [];
      client.on('down').subscribe(({ n }) => got.push(n));
      client.connect();
      fake.scheduler.schedule(() => {
        fake.last!.push({ type: 'down', payload: { n: 1 } }); // seq 1
        fake.last!.push({ type: 'down', payload: { n: 1 }, seq: 1 }); // a repeat
        fake.last!.push({ type: 'down', payload: { n: 2 } }); // seq 2
      }, 10);
      flush();
      expect(got).toEqual([1, 2]);
      expect(client.state.duplicates).toBe(1);
      // The client acknowledged both, once, 250 ms later (no frame of its own to carry it).
      const acks = fake.last!.envelopes.filter((e) => e.type === '$ack');
      expect(acks.map((a) => a.ack)).toEqual([2]);
    });
  });

  it('acknowledges a steady stream lazily, a lone $ack per 250 ms tick, and the tick stops when the stream does', () => {
    const scheduler = testScheduler();
    scheduler.run(({ flush }) => {
      scheduler.maxFrames = 10_000; // a tick that never stopped would still be queued after this
      const { fake, client } = fakeClient<Api>();
      client.connect();
      for (let i = 1; i <= 30; i++) {
        fake.scheduler.schedule(() => fake.last!.push({ type: 'down', payload: { n: i } }), 20 * i);
      }
      flush();
      expect(scheduler.actions).toHaveLength(0); // the ack tick (and everything else) stopped
      const acks = fake.last!.envelopes.filter((e) => e.type === '$ack').map((a) => a.ack!);
      // 30 messages over 600 ms: one ack per 250 ms tick, not one per message; the last covers all.
      expect(acks.length).toBeGreaterThanOrEqual(2);
      expect(acks.length).toBeLessThanOrEqual(4);
      expect(acks.at(-1)).toBe(30);
      expect([...acks].sort((a, b) => a - b)).toEqual(acks);
    });
  });

  it('acknowledges within 20 ms an envelope marked ackSoon, even while a lazy tick is armed', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Api>();
      client.connect();
      const acksSoFar = (): number[] =>
        fake.last!.envelopes.filter((e) => e.type === '$ack').map((a) => a.ack!);
      const seen: Record<string, number[]> = {};
      fake.scheduler.schedule(() => fake.last!.push({ type: 'down', payload: { n: 1 } }), 10);
      fake.scheduler.schedule(
        () => fake.last!.push({ type: 'down', payload: { n: 2 }, ackSoon: true }),
        100,
      );
      fake.scheduler.schedule(() => (seen.before = acksSoFar()), 99);
      fake.scheduler.schedule(() => (seen.after = acksSoFar()), 121);
      flush();
      expect(seen.before).toEqual([]); // the plain frame alone would wait until 260 ms
      expect(seen.after).toEqual([2]);
      expect(acksSoFar()).toEqual([2]); // and the lazy tick found nothing more to ack
    });
  });

  it('marks a confirmed send ackSoon, so the server acknowledges it promptly', () => {
    testScheduler().run(({ flush }) => {
      const { fake, client } = fakeClient<Api>();
      client.connect();
      fake.scheduler.schedule(() => {
        client.send('up', { n: 1 });
        void client.sendConfirmed('up', { n: 2 });
      }, 10);
      flush();
      expect(fake.last!.messages.map((m) => [m.payload, m.ackSoon])).toEqual([
        [{ n: 1 }, undefined],
        [{ n: 2 }, true],
      ]);
    });
  });

  it('reports a new session when the server does not resume, with the previous id', () => {
    testScheduler().run(({ expectObservable }) => {
      const { fake, client } = fakeClient<Api>({}, { reconnect: { jitter: 0 } });
      client.connect();
      fake.scheduler.schedule(() => {
        fake.resume = false;
        fake.last!.drop();
      }, 100);
      fake.scheduler.schedule(() => client.dispose(), 2_000);
      expectObservable(client.sessions$).toBe('a 1099ms b 899ms |', {
        a: { sessionId: 'fake-session-1', resumed: false },
        b: { sessionId: 'fake-session-2', resumed: false, previousSessionId: 'fake-session-1' },
      });
    });
  });
});
