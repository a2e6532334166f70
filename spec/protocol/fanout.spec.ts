import { Subscription, firstValueFrom, toArray } from 'rxjs';
import { Fanout } from '../../src/protocol/fanout';

function record<V>(fanout: Fanout<V>) {
  const seen: V[] = [];
  const state = { completed: false };
  const subscription = fanout.subscribe({
    next: (v) => seen.push(v),
    complete: () => (state.completed = true),
  });
  return { seen, state, subscription };
}

describe('Fanout', () => {
  it('is hot: subscribers get what is delivered while they are subscribed', () => {
    const fanout = new Fanout<number>();
    fanout.next(0);
    const a = record(fanout);
    fanout.next(1);
    const b = record(fanout);
    fanout.next(2);
    a.subscription.unsubscribe();
    fanout.next(3);
    expect(a.seen).toEqual([1, 2]);
    expect(b.seen).toEqual([2, 3]);
    expect(fanout.observed).toBe(true);
    b.subscription.unsubscribe();
    expect(fanout.observed).toBe(false);
  });

  it('takes a new lone subscriber after the last one left', () => {
    const fanout = new Fanout<number>();
    const a = record(fanout);
    a.subscription.unsubscribe();
    expect(fanout.observed).toBe(false);
    fanout.next(1);
    const b = record(fanout);
    fanout.next(2);
    expect(a.seen).toEqual([]);
    expect(b.seen).toEqual([2]);
  });

  it('skips a subscriber another one unsubscribes during a delivery', () => {
    const fanout = new Fanout<number>();
    const seen: string[] = [];
    fanout.subscribe((v) => {
      seen.push(`first ${v}`);
      second.unsubscribe();
    });
    const second: Subscription = fanout.subscribe((v) => seen.push(`second ${v}`));
    fanout.next(1);
    expect(seen).toEqual(['first 1']);
  });

  it('completes subscribers at end(), and later ones at once', () => {
    const fanout = new Fanout<number>();
    const a = record(fanout);
    const b = record(fanout);
    fanout.end();
    fanout.next(1);
    const late = record(fanout);
    expect([a.state.completed, b.state.completed, late.state.completed]).toEqual([
      true,
      true,
      true,
    ]);
    expect([a.seen, late.seen]).toEqual([[], []]);
    expect(fanout.ended).toBe(true);
  });

  it('end(value) emits it, and replays it to later subscribers (like an AsyncSubject)', async () => {
    const fanout = new Fanout<string>();
    const a = record(fanout);
    fanout.end({ value: 'bye' });
    fanout.end({ value: 'again' });
    expect(a.seen).toEqual(['bye']);
    expect(a.state.completed).toBe(true);
    await expect(firstValueFrom(fanout.pipe(toArray()))).resolves.toEqual(['bye']);
  });

  it('current(value) gives each subscriber the current value first (like a BehaviorSubject)', async () => {
    const fanout = Fanout.current(false);
    const a = record(fanout);
    fanout.next(true);
    const b = record(fanout);
    fanout.next(false);
    fanout.end();
    expect(a.seen).toEqual([false, true, false]);
    expect(b.seen).toEqual([true, false]);
    expect(fanout.current).toBe(false);
    await expect(firstValueFrom(fanout.pipe(toArray()))).resolves.toEqual([false]);
  });
});
