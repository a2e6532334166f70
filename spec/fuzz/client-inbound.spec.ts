// Property-based tests of what a server can make the client decode: any
// `$welcome` payload, and any frame after it (random text, mutated valid
// envelopes, `$error`/`$next`/`$complete` with random fields, binary
// garbage), against the FakeServer of rxwire/testing in virtual time. The
// client never throws, reports only typed errors with documented codes on
// `errors$`, stays connected, and still delivers the next good message once.
import fc from 'fast-check';
import { ConnectionClosedError, RxwireError, type Protocol } from '../../src/index.js';
import { fakeClient } from '../helpers/fake-client.js';
import { testScheduler } from '../helpers/marbles.js';
import { anyString, envelopeShaped, textFrame } from './arbitraries.js';

interface Api extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number }; checked: { n: number } };
}

/** Codes the client reports for frames it received (docs/PROTOCOL.md §6). */
const receiveCodes = new Set([
  'RXWIRE_BAD_JSON',
  'RXWIRE_BAD_ENVELOPE',
  'RXWIRE_UNKNOWN_CONTROL',
  'RXWIRE_INVALID_PAYLOAD',
  'RXWIRE_BAD_BINARY_FRAME',
]);

const welcomeField = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, 1, 2, 1.5, -1, 2 ** 53, true, 'fake-session-1'),
);
/** `$welcome` payloads: random JSON, or objects with the welcome's fields holding random values. */
const welcomePayload = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      v: welcomeField,
      sessionId: fc.oneof(anyString(), welcomeField),
      resumeToken: fc.oneof(anyString(), welcomeField),
      resumed: welcomeField,
      ack: welcomeField,
      heartbeatMs: welcomeField,
      recoveryWindowMs: welcomeField,
    },
    { requiredKeys: [] },
  ),
);

/** Frames a server could send after `$welcome`. */
const serverFrame = fc.oneof(
  textFrame,
  fc
    .record({
      type: fc.constantFrom('$error', '$next', '$complete', '$ping', '$welcome', 'down', 'checked'),
      replyTo: fc.oneof(anyString(), fc.constantFrom('c.1', 'c.2')),
      payload: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.record(
          { code: welcomeField, message: welcomeField, replyTo: welcomeField },
          { requiredKeys: [] },
        ),
      ),
    })
    .chain((fields) =>
      envelopeShaped.map((extra) =>
        JSON.stringify({ ...extra, ...fields, id: 's.x', timestamp: 't' }),
      ),
    ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.buffer),
);

describe('the client against any server frame', () => {
  it('connects on any $welcome with a string sessionId, and fails every other one with 4400', () => {
    fc.assert(
      fc.property(welcomePayload, (payload) => {
        testScheduler().run(({ flush }) => {
          const { fake, client } = fakeClient<Api>(
            { welcome: false },
            { reconnect: { jitter: 0 } },
          );
          const errors: unknown[] = [];
          client.errors$.subscribe((e) => errors.push(e));
          client.connect();
          fake.scheduler.schedule(() => {
            const hello = fake.last!.envelopes[0]!;
            fake.last!.push({ type: '$welcome', replyTo: hello.id, payload });
          }, 5);
          flush();
          const ok =
            typeof payload === 'object' &&
            payload !== null &&
            !Array.isArray(payload) &&
            typeof (payload as { sessionId?: unknown }).sessionId === 'string';
          if (ok) {
            expect(client.state.status).toBe('connected');
            expect(client.state.sessionId).toBe((payload as { sessionId: string }).sessionId);
          } else {
            expect(client.state.status).toBe('error');
            expect(client.state.error).toBeInstanceOf(ConnectionClosedError);
            expect((client.state.error as ConnectionClosedError).close.code).toBe(4400);
          }
          expect(errors).toEqual([]);
          client.dispose();
        });
      }),
      { numRuns: 500 },
    );
  });

  it('resends exactly what a resuming $welcome leaves unacknowledged, whatever its ack says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), welcomeField, (sent, ack) => {
        testScheduler().run(({ flush }) => {
          // Acks come late, so the drop at 100 ms leaves all `sent` messages unacknowledged.
          const { fake, client } = fakeClient<Api>(
            { ackDelay: 10_000 },
            { reconnect: { jitter: 0 } },
          );
          const errors: RxwireError[] = [];
          client.errors$.subscribe((e) => errors.push(e));
          client.connect();
          flush();
          for (let n = 1; n <= sent; n++) client.send('up', { n });
          const first = fake.last!;
          const token = fake.sessionsById.get('fake-session-1')!.token;
          fake.welcome = false; // the resuming $welcome is written by hand below
          fake.scheduler.schedule(() => first.drop(), 100);
          fake.scheduler.schedule(() => {
            const hello = fake.last!.envelopes[0]!;
            fake.last!.push({
              type: '$welcome',
              replyTo: hello.id,
              payload: {
                v: 1,
                sessionId: 'fake-session-1',
                resumeToken: token,
                resumed: true,
                ack,
              },
            });
          }, 2_000);
          flush();
          expect(client.state).toMatchObject({ status: 'connected', resumed: true });
          // §12: the client forgets what the ack covers and resends the rest, same id and seq.
          // An ack that is not an integer, or names a seq never sent, covers nothing and is reported.
          const covers = typeof ack === 'number' && Number.isSafeInteger(ack) && ack <= sent;
          const from = covers ? Math.max(ack, 0) + 1 : 1;
          const resent = fake.last!.messages.filter((m) => m.type === 'up');
          const original = first.messages.filter((m) => m.type === 'up');
          expect(resent.map((m) => [m.seq, m.id])).toEqual(
            original.filter((m) => m.seq! >= from).map((m) => [m.seq, m.id]),
          );
          const reported = typeof ack === 'number' && !covers;
          expect(errors.map((e) => e.code)).toEqual(reported ? ['RXWIRE_BAD_ENVELOPE'] : []);
          client.dispose();
        });
      }),
      { numRuns: 500 },
    );
  });

  it('survives any frame after $welcome: typed errors only, still connected, the next message arrives once', () => {
    fc.assert(
      fc.property(fc.array(serverFrame, { minLength: 1, maxLength: 20 }), (frames) => {
        testScheduler().run(({ flush }) => {
          const { fake, client } = fakeClient<Api>(
            {},
            {
              reconnect: { jitter: 0 },
              validate: {
                down: (p) => typeof (p as { n?: unknown })?.n === 'number',
                checked: (p) =>
                  typeof (p as { n?: unknown })?.n === 'number' || 'n must be a number',
              },
            },
          );
          const errors: unknown[] = [];
          client.errors$.subscribe((e) => errors.push(e));
          const down: number[] = [];
          // The validator keeps malformed payloads from the subscriber (a throwing
          // subscriber would be RxJS's unhandled error, not the client's).
          client.on('down').subscribe(({ n }) => down.push(n));
          client.connect();
          flush();
          for (const frame of frames) fake.last!.push(frame);
          flush();
          // A gap in `seq` makes the client reconnect and resume: let it.
          expect(client.state.status).toBe('connected');
          const before = down.length;
          fake.last!.push(
            JSON.stringify({ type: 'down', id: 'last', payload: { n: -1 }, timestamp: 't' }),
          );
          flush();
          expect(down.slice(before)).toEqual([-1]);
          for (const error of errors) {
            expect(error).toBeInstanceOf(RxwireError);
            const { code } = error as RxwireError;
            // A $error that answers no request surfaces with the server's code (RemoteError).
            if (error instanceof RxwireError && error.name !== 'RemoteError')
              expect(receiveCodes).toContain(code);
            expect(typeof code).toBe('string');
          }
          client.dispose();
        });
      }),
      { numRuns: 300 },
    );
  });
});
