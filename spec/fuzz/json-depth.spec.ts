// Property-based tests of the server's nesting limit (`maxDepth`): the
// bracket scan (server/json-depth.ts) agrees with the real depth of any JSON
// text, brackets inside strings included, and a live server answers every
// frame nested deeper than `maxDepth` with RXWIRE_BAD_JSON, however short
// the frame, and delivers every other one.
import fc from 'fast-check';
import { exceedsDepth } from '../../server/json-depth.js';
import type { Envelope } from '../../src/protocol/index.js';
import { Disposer, RawClient, startServer } from '../helpers/server-harness.js';

/** Nesting depth of a parsed JSON value: 0 for a scalar, 1 for `[]`, ... */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Object.values(value as Record<string, unknown>);
  return 1 + Math.max(0, ...children.map(depth));
}

/** JSON values up to 12 levels deep, with strings full of brackets and quotes. */
const nested = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.string({ unit: fc.constantFrom('[', '{', ']', '}', '"', '\\', 'a') }),
      fc.integer(),
      fc.constant(null),
    ),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('maxDepth', () => {
  it('the scan says "deeper than max" exactly when the JSON is', () => {
    fc.assert(
      fc.property(nested, fc.nat(12), (value, max) => {
        expect(exceedsDepth(JSON.stringify(value), max)).toBe(depth(value) > max);
      }),
      { numRuns: 3_000 },
    );
  });

  it('a live server rejects every frame deeper than maxDepth with RXWIRE_BAD_JSON and delivers the rest', async () => {
    const disposer = new Disposer();
    try {
      const maxDepth = 4;
      const { server, url } = await startServer(disposer, {
        heartbeat: false,
        maxDepth,
        rateLimit: false,
      });
      const delivered: string[] = [];
      server.sessions$.subscribe((s) => s.messages$.subscribe((m) => delivered.push(m.id)));
      const { client } = await RawClient.open(url, disposer);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(nested, async (payload) => {
          const id = `m${++n}`;
          // The envelope itself is one level: the payload may be maxDepth - 1 deep.
          const tooDeep = 1 + depth(payload) > maxDepth;
          client.sendRaw(JSON.stringify({ type: 'x', id, payload, timestamp: 't' }));
          client.sendRaw(
            JSON.stringify({ type: '$ping', id: `p${id}`, payload: null, timestamp: 't' }),
          );
          const answers: Envelope[] = await client.until((m) => m.type === '$pong');
          const errors = answers.filter((m) => m.type === '$error');
          if (tooDeep) {
            expect(errors.map((e) => (e.payload as { code: string }).code)).toEqual([
              'RXWIRE_BAD_JSON',
            ]);
            expect(delivered).not.toContain(id);
          } else {
            expect(errors).toEqual([]);
            expect(delivered).toContain(id);
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      await disposer.drain();
    }
  });
});
