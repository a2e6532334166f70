// Property-based tests of the handshake a client controls: `$hello`
// validation (server/hello.ts) against docs/PROTOCOL.md §3, and, through a
// live server on loopback, any first frame and any resume request: a bad one
// closes 4400 (with a reason under 123 bytes), an unknown session starts a
// new one, a wrong token or another user gets 4403 and leaves the session to
// its owner, an ack never sent gets 4400, and the owner resumes with exactly
// the messages it had not acknowledged.
import fc from 'fast-check';
import { helloProblem } from '../../server/hello.js';
import type { Session } from '../../server/index.js';
import { Disposer, RawClient, envelope, startServer, until } from '../helpers/server-harness.js';
import { documentedHelloOk } from '../helpers/protocol-model.js';
import { anyString, envelopeShaped, textFrame } from './arbitraries.js';

const field = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(1, 2, '1', 1.0000001, 0, -1, null, true, 2 ** 53),
  anyString(),
);
const resumeValue = fc.oneof(
  field,
  fc.record({ sessionId: field, token: field, ack: field }, { requiredKeys: [] }),
  fc.record({ sessionId: anyString(), token: anyString(), ack: fc.nat() }),
);
/** `$hello` payloads: random JSON, or objects with the hello's fields holding random values. */
const helloPayload = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    { v: fc.oneof(fc.constant(1), field), token: field, client: field, resume: resumeValue },
    { requiredKeys: [] },
  ),
);

describe('$hello validation', () => {
  it('accepts exactly the payloads §3 allows, never throwing, with a reason for the rest', () => {
    fc.assert(
      fc.property(helloPayload, (payload) => {
        const problem = helloProblem(payload);
        expect(problem === null).toBe(documentedHelloOk(payload));
        if (problem !== null) expect(typeof problem).toBe('string');
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('the handshake on a live server', () => {
  const disposer = new Disposer();
  afterAll(() => disposer.drain());
  jest.setTimeout(60_000);

  it('closes every first frame that is not a valid $hello with 4400, and welcomes the valid ones', async () => {
    const { url } = await startServer(disposer, { heartbeat: false });
    const firstFrame = fc.oneof(
      textFrame,
      envelopeShaped.map((v) => JSON.stringify({ ...v, type: '$hello' })),
      fc
        .tuple(helloPayload, anyString(8))
        .map(([payload, id]) =>
          JSON.stringify({ type: '$hello', id: id || 'h', payload, timestamp: 't' }),
        ),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(firstFrame, async (frame) => {
        const client = await RawClient.connect(url, disposer);
        client.sendRaw(frame);
        const hello = typeof frame === 'string' ? helloOf(frame) : null;
        if (hello !== null && documentedHelloOk(hello.payload)) {
          const welcome = await client.next();
          expect(welcome).toMatchObject({ type: '$welcome', replyTo: hello.id });
          client.ws.close(1000);
        } else {
          const { code, reason } = await client.waitClosed();
          expect(code).toBe(4400);
          expect(Buffer.byteLength(reason)).toBeLessThan(123);
        }
        await client.waitClosed();
      }),
      { numRuns: 150 },
    );
  });

  it('resumes only for the owner with the right secret and an ack it was sent; refuses the rest as §12 says', async () => {
    const { server, url } = await startServer<never, { id: string }>(disposer, {
      heartbeat: false,
      authenticate: (token) => ({ id: token ?? 'anonymous' }),
    });
    const sessions: Session<never, { id: string }>[] = [];
    server.sessions$.subscribe((s) => sessions.push(s));
    // The owner, alice, has a session that was sent 5 messages, then dropped (1006).
    const { client: owner, welcome } = await RawClient.open(url, disposer, { token: 'alice' });
    const session = sessions[0]!;
    for (let n = 1; n <= 5; n++) session.send('down' as never, { n } as never);
    await owner.until((m) => m.seq === 5);
    const drop = async (client: RawClient) => {
      client.ws.terminate();
      await until(() => !session.connected, 5_000, 'the server to see the drop');
    };
    await drop(owner);
    const { sessionId, resumeToken } = welcome.payload as {
      sessionId: string;
      resumeToken: string;
    };
    let acknowledged = 0; // what earlier resumes acknowledged: the server forgot those

    const request = fc.record({
      token: fc.constantFrom('alice', 'alice', 'alice', 'mallory', undefined),
      sessionId: fc.oneof(fc.constant(sessionId), fc.constant(sessionId), anyString(36)),
      secret: fc.oneof(
        fc.constant(resumeToken),
        fc.constant(resumeToken),
        fc
          .nat(31)
          .map(
            (i) =>
              `${resumeToken.slice(0, i)}${resumeToken[i] === 'A' ? 'B' : 'A'}${resumeToken.slice(i + 1)}`,
          ),
        fc.constant(resumeToken.slice(1)),
        anyString(40),
      ),
      ack: fc.integer({ min: 0, max: 7 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const client = await RawClient.connect(url, disposer);
        client.send(
          envelope('$hello', {
            v: 1,
            ...(r.token !== undefined ? { token: r.token } : {}),
            resume: { sessionId: r.sessionId, token: r.secret, ack: r.ack },
          }),
        );
        if (r.sessionId !== sessionId) {
          // Unknown session: a new one.
          expect(await client.next()).toMatchObject({
            type: '$welcome',
            payload: { resumed: false },
          });
          client.ws.close(1000);
          await client.waitClosed();
          return;
        }
        if (r.secret !== resumeToken || r.token !== 'alice') {
          expect(await client.waitClosed()).toEqual({ code: 4403, reason: 'resume refused' });
        } else if (r.ack > 5) {
          expect((await client.waitClosed()).code).toBe(4400);
        } else {
          // The server forgets what this ack and earlier ones covered, and resends the rest.
          const from = Math.max(r.ack, acknowledged) + 1;
          const welcomed = await client.next();
          const resent = [];
          for (let seq = from; seq <= 5; seq++) resent.push(await client.next());
          expect(welcomed).toMatchObject({
            type: '$welcome',
            payload: { sessionId, resumed: true, ack: 0 },
          });
          expect(resent.map((m) => [m.seq, (m.payload as { n: number }).n])).toEqual(
            Array.from({ length: 6 - from }, (_, i) => [from + i, from + i]),
          );
          acknowledged = from - 1;
          await drop(client);
        }
        // Whatever was refused, the session is the owner's still: alive and waiting.
        expect(session.state).toBe('open');
        expect(server.sessions.get(sessionId)).toBe(session);
      }),
      { numRuns: 150 },
    );
  });
});

/** The `$hello` envelope in a text frame, if the frame is one by §2. */
function helloOf(text: string): { id: string; payload: unknown } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const ok =
    v.type === '$hello' &&
    typeof v.id === 'string' &&
    v.id !== '' &&
    typeof v.timestamp === 'string' &&
    (!('replyTo' in v) || typeof v.replyTo === 'string') &&
    (!('request' in v) || v.request === true) &&
    (!('seq' in v) || (Number.isSafeInteger(v.seq) && (v.seq as number) >= 1)) &&
    (!('ack' in v) || (Number.isSafeInteger(v.ack) && (v.ack as number) >= 0));
  return ok ? { id: v.id as string, payload: v.payload } : null;
}
