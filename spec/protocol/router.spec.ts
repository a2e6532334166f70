import { Subscription, take } from 'rxjs';
import { Router } from '../../src/protocol/router';

/** Subscribes and records what arrives, and whether it completed. */
function record<V>(router: Router<string, V>, key: string) {
  const seen: V[] = [];
  const state = { completed: false };
  const subscription = router.observe(key).subscribe({
    next: (v) => seen.push(v),
    complete: () => (state.completed = true),
  });
  return { seen, state, subscription };
}

describe('Router', () => {
  it('routes by key, one subscriber (the fast path)', () => {
    const router = new Router<string, number>();
    const a = record(router, 'a');
    router.dispatch('a', 1);
    router.dispatch('b', 2);
    expect(a.seen).toEqual([1]);
    expect(router.size).toBe(1);
  });

  it('goes from one subscriber to several and back, each getting every value once', () => {
    const router = new Router<string, number>();
    const a = record(router, 'k');
    router.dispatch('k', 1);
    const b = record(router, 'k');
    router.dispatch('k', 2);
    const c = record(router, 'k');
    router.dispatch('k', 3);
    b.subscription.unsubscribe();
    router.dispatch('k', 4);
    a.subscription.unsubscribe();
    router.dispatch('k', 5);
    expect(a.seen).toEqual([1, 2, 3, 4]);
    expect(b.seen).toEqual([2, 3]);
    expect(c.seen).toEqual([3, 4, 5]);
    expect(router.size).toBe(1);
    c.subscription.unsubscribe();
    router.dispatch('k', 6);
    expect(c.seen).toEqual([3, 4, 5]);
    expect(router.size).toBe(0);
  });

  it('delivers nothing more to a lone subscriber that left, and takes a new one after it', () => {
    const router = new Router<string, number>();
    const a = record(router, 'k');
    a.subscription.unsubscribe();
    expect(router.size).toBe(0);
    router.dispatch('k', 1);
    const b = record(router, 'k');
    router.dispatch('k', 2);
    expect(a.seen).toEqual([]);
    expect(b.seen).toEqual([2]);
    // Resubscribing after the last one left, on the same router and key.
    b.subscription.unsubscribe();
    const c = record(router, 'k');
    router.dispatch('k', 3);
    expect(c.seen).toEqual([3]);
  });

  it('works with take(1), repeatedly, without keeping dead subscribers', () => {
    const router = new Router<string, number>();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      router
        .observe('k')
        .pipe(take(1))
        .subscribe((v) => seen.push(v));
      router.dispatch('k', i);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(router.size).toBe(0);
  });

  it('skips a subscriber unsubscribed during a dispatch by an earlier one', () => {
    const router = new Router<string, number>();
    const seen: string[] = [];
    router.observe('k').subscribe((v) => {
      seen.push(`first ${v}`);
      second.unsubscribe();
    });
    const second: Subscription = router.observe('k').subscribe((v) => seen.push(`second ${v}`));
    router.dispatch('k', 1);
    router.dispatch('k', 2);
    expect(seen).toEqual(['first 1', 'first 2']);
  });

  it('lets a lone subscriber unsubscribe itself during a dispatch', () => {
    const router = new Router<string, number>();
    const seen: number[] = [];
    const subscription: Subscription = router.observe('k').subscribe((v) => {
      seen.push(v);
      subscription.unsubscribe();
    });
    router.dispatch('k', 1);
    router.dispatch('k', 2);
    expect(seen).toEqual([1]);
    expect(router.size).toBe(0);
  });

  it('gives a subscriber added during a dispatch the next value, not that one', () => {
    const router = new Router<string, number>();
    const seen: string[] = [];
    let added = false;
    router.observe('k').subscribe((v) => {
      seen.push(`first ${v}`);
      if (!added) {
        added = true;
        router.observe('k').subscribe((w) => seen.push(`late ${w}`));
      }
    });
    router.dispatch('k', 1);
    router.dispatch('k', 2);
    expect(seen).toEqual(['first 1', 'first 2', 'late 2']);
  });

  it('keeps several keys apart, moving the first slot to a new key once its subscribers left', () => {
    const router = new Router<string, number>();
    const a = record(router, 'a');
    const b = record(router, 'b');
    const c = record(router, 'c');
    router.dispatch('a', 1);
    router.dispatch('b', 2);
    router.dispatch('c', 3);
    expect([a.seen, b.seen, c.seen]).toEqual([[1], [2], [3]]);
    expect(router.size).toBe(3);
    a.subscription.unsubscribe();
    expect(router.size).toBe(2);
    const d = record(router, 'd'); // takes the first slot, freed by 'a'
    const a2 = record(router, 'a');
    for (const key of ['a', 'b', 'c', 'd']) router.dispatch(key, 4);
    expect([a.seen, a2.seen, b.seen, c.seen, d.seen]).toEqual([[1], [4], [2, 4], [3, 4], [4]]);
    expect(router.size).toBe(4);
    b.subscription.unsubscribe();
    c.subscription.unsubscribe();
    expect(router.size).toBe(2);
  });

  it('sweeps keys whose lone subscriber left as keys are added', () => {
    const router = new Router<number, number>();
    const keep = router.observe(0).subscribe();
    for (let key = 1; key <= 100; key++) router.observe(key).subscribe().unsubscribe();
    expect(router.size).toBe(1);
    const more = (router as unknown as { more?: Map<number, unknown> }).more;
    expect(more === undefined || more.size <= 16).toBe(true);
    keep.unsubscribe();
  });

  it('completes every subscriber, on one key or many, and every later one', () => {
    const router = new Router<string, number>();
    const a = record(router, 'a');
    const b1 = record(router, 'b');
    const b2 = record(router, 'b');
    const gone = record(router, 'c');
    gone.subscription.unsubscribe();
    router.complete();
    expect([a.state.completed, b1.state.completed, b2.state.completed]).toEqual([true, true, true]);
    expect(gone.state.completed).toBe(false);
    const late = record(router, 'a');
    expect(late.state.completed).toBe(true);
    router.dispatch('a', 1);
    expect(late.seen).toEqual([]);
    expect(router.size).toBe(0);
  });
});
