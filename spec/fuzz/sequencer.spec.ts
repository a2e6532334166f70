// Property-based tests of the sequencer (src/protocol/sequencer.ts), the
// bookkeeping behind exactly-once delivery on both ends: random sequences of
// sends, acks (right, stale, ahead, not integers) and receipts (in order,
// repeated, ahead) run against a plain model of docs/PROTOCOL.md §12. A peer
// decides every ack and seq the sequencer sees, so none of them may corrupt it.
import fc from 'fast-check';
import { Sequencer } from '../../src/protocol/index.js';

type Op =
  | { op: 'push'; confirm: boolean }
  | { op: 'ack'; pick: 'covered' | 'ahead' | 'stale' | 'odd'; k: number; odd: number }
  | { op: 'receive'; pick: 'next' | 'repeat' | 'gap' | 'odd'; k: number; odd: number }
  | { op: 'takeAck' }
  | { op: 'reset' };

const odd = fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 1.5, -1, -0, 2 ** 53, 1e300);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), confirm: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('ack' as const),
      pick: fc.constantFrom('covered' as const, 'ahead' as const, 'stale' as const, 'odd' as const),
      k: fc.nat(20),
      odd,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('receive' as const),
      pick: fc.constantFrom('next' as const, 'repeat' as const, 'gap' as const, 'odd' as const),
      k: fc.nat(20),
      odd,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'takeAck' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
);

/** The documented behaviour, kept as plainly as possible. */
class Model {
  nextSeq = 1;
  peerAck = 0;
  received = 0;
  ackSent = 0;
  duplicates = 0;
  /** Sent and not acknowledged, oldest first. */
  pending: Array<{ seq: number; value: string; confirm: boolean }> = [];
}

describe('Sequencer', () => {
  it('matches the documented model for any sequence of sends, acks and receipts', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const model = new Model();
        const sequencer = new Sequencer<string>();
        const confirmed: number[] = [];
        const expectedConfirmed: number[] = [];
        for (const step of ops) {
          switch (step.op) {
            case 'push': {
              const value = `v${model.nextSeq}`;
              const seq = model.nextSeq++;
              model.pending.push({ seq, value, confirm: step.confirm });
              const got = sequencer.push(
                value,
                step.confirm ? () => confirmed.push(seq) : undefined,
              );
              expect(got).toBe(seq);
              break;
            }
            case 'ack': {
              const ack =
                step.pick === 'covered'
                  ? model.peerAck + (step.k % (model.nextSeq - model.peerAck))
                  : step.pick === 'ahead'
                    ? model.nextSeq + step.k
                    : step.pick === 'stale'
                      ? model.peerAck - step.k
                      : step.odd;
              // §12: an ack covers everything up to it; one for a seq never sent is an error.
              const valid = Number.isSafeInteger(ack) && ack < model.nextSeq;
              const forgotten: string[] = [];
              expect(sequencer.acknowledge(ack, (v) => forgotten.push(v))).toBe(valid);
              const expectForgotten: string[] = [];
              if (valid && ack > model.peerAck) {
                while (model.pending.length > 0 && model.pending[0]!.seq <= ack) {
                  const entry = model.pending.shift()!;
                  expectForgotten.push(entry.value);
                  if (entry.confirm) expectedConfirmed.push(entry.seq);
                }
                model.peerAck = ack;
              }
              expect(forgotten).toEqual(expectForgotten);
              break;
            }
            case 'receive': {
              const seq =
                step.pick === 'next'
                  ? model.received + 1
                  : step.pick === 'repeat'
                    ? model.received - step.k
                    : step.pick === 'gap'
                      ? model.received + 2 + step.k
                      : step.odd;
              const expected =
                seq === model.received + 1
                  ? 'deliver'
                  : seq <= model.received
                    ? 'duplicate'
                    : 'gap';
              expect(sequencer.receive(seq)).toBe(expected);
              if (expected === 'deliver') model.received = seq;
              if (expected === 'duplicate') model.duplicates++;
              break;
            }
            case 'takeAck':
              expect(sequencer.takeAck()).toBe(model.received);
              model.ackSent = model.received;
              break;
            case 'reset': {
              const pending = sequencer.reset();
              expect(pending.map((e) => [e.seq, e.value])).toEqual(
                model.pending.map((e) => [e.seq, e.value]),
              );
              Object.assign(model, {
                nextSeq: 1,
                peerAck: 0,
                received: 0,
                ackSent: 0,
                pending: [],
              });
              break;
            }
          }
          expect(sequencer.nextSeq).toBe(model.nextSeq);
          expect(sequencer.peerAck).toBe(model.peerAck);
          expect(sequencer.received).toBe(model.received);
          expect(sequencer.duplicates).toBe(model.duplicates);
          expect(sequencer.unacked).toBe(model.pending.length);
          expect(sequencer.ackDue).toBe(model.received > model.ackSent);
          expect(sequencer.pending().map((e) => [e.seq, e.value, e.onAck !== undefined])).toEqual(
            model.pending.map((e) => [e.seq, e.value, e.confirm]),
          );
        }
        expect(confirmed).toEqual(expectedConfirmed);
      }),
      { numRuns: 1_000 },
    );
  });

  it('frees what a long run acknowledges, however the acks are spaced', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3_000 }), { maxLength: 30 }), (steps) => {
        const sequencer = new Sequencer<number>();
        let sent = 0;
        for (const step of steps) {
          for (let i = 0; i < step; i++) sequencer.push(++sent);
          // Acknowledge all but a random remainder, as a peer falling behind would.
          const ack = sent - (step % 7);
          expect(sequencer.acknowledge(ack)).toBe(true);
          expect(sequencer.unacked).toBe(sent - Math.max(ack, sequencer.peerAck));
          const pending = sequencer.pending();
          expect(pending.map((e) => e.value)).toEqual(pending.map((e) => e.seq));
        }
      }),
      { numRuns: 200 },
    );
  });
});
