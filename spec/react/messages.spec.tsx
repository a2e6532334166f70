/**
 * @jest-environment jsdom
 */
// useMessage, useMessages and useLatestMessage against FakeServer (real
// time): rendering only when asked, bursts batched per throttleMs with the
// last message always delivered, nothing lost, the latest handler without
// resubscribing, and no React warnings under 1,000 synchronous messages.
import { act, renderHook, waitFor } from '@testing-library/react';
import type { Client, Protocol } from '../../src/index';
import { useLatestMessage, useMessage, useMessages } from '../../src/react/index';
import type { FakeServer } from '../../src/testing/index';
import { asInBrowser, fakeClient, failOnReactWarnings, withClient } from './helpers';

interface Ticks extends Protocol {
  client: Record<string, never>;
  server: { tick: { n: number }; other: string };
}

const WAIT = { timeout: 10_000 };

failOnReactWarnings();

/** A connected client on a FakeServer. */
async function connectedClient(): Promise<{ fake: FakeServer; client: Client<Ticks> }> {
  const { fake, client } = fakeClient();
  client.connect();
  await waitFor(() => expect(client.state.status).toBe('connected'), WAIT);
  return { fake, client: client as Client<Ticks> };
}

/** Pushes `count` tick messages from the server, synchronously, in one act(). */
async function burst(fake: FakeServer, count: number, from = 0): Promise<void> {
  await act(async () => {
    for (let i = from; i < from + count; i++) fake.last!.push({ type: 'tick', payload: { n: i } });
  });
}

describe('useMessage', () => {
  it('calls the handler for each of 1,000 messages and renders 0 times', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const got: number[] = [];
    renderHook(
      () => {
        renders++;
        useMessage<Ticks, 'tick'>('tick', ({ n }) => got.push(n));
      },
      { wrapper: withClient(client), reactStrictMode: true },
    );
    const before = renders;
    await burst(fake, 1000);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(renders - before).toBe(0);
    act(() => client.dispose());
  });

  it('uses the latest handler without resubscribing', async () => {
    const { fake, client } = await connectedClient();
    const on = jest.spyOn(client, 'on');
    const seen: string[] = [];
    const { rerender } = renderHook(
      ({ who }: { who: string }) =>
        useMessage<Ticks, 'tick'>('tick', ({ n }) => seen.push(`${who}${n}`)),
      { wrapper: withClient(client), reactStrictMode: true, initialProps: { who: 'a' } },
    );
    const subscriptions = on.mock.calls.length; // 2 under StrictMode: subscribe, clean up, subscribe
    await burst(fake, 2);
    rerender({ who: 'b' });
    rerender({ who: 'c' });
    await burst(fake, 2, 2);
    expect(seen).toEqual(['a0', 'a1', 'c2', 'c3']);
    expect(on.mock.calls.length).toBe(subscriptions);
    act(() => client.dispose());
  });
});

describe('useMessages', () => {
  it('throttleMs 50 under 1,000 synchronous messages: a handful of renders, none lost, no warnings', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const { result } = renderHook(
      () => {
        renders++;
        return useMessages<Ticks, 'tick'>('tick', { throttleMs: 50 });
      },
      { wrapper: withClient(client), reactStrictMode: true },
    );
    const before = renders;
    expect(result.current).toEqual([]);
    await asInBrowser(async () => {
      for (let i = 0; i < 1000; i++) fake.last!.push({ type: 'tick', payload: { n: i } });
      await waitFor(() => expect(result.current).toHaveLength(1000), WAIT);
    });
    expect(result.current.map((m) => m.n)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // The first message at once, the other 999 when the window ends: two renders
    // (StrictMode renders each twice).
    expect(renders - before).toBeLessThanOrEqual(4);
    act(() => client.dispose());
  });

  it('without throttleMs, 1,000 synchronous messages are one render (React batches them)', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const { result } = renderHook(
      () => {
        renders++;
        return useMessages<Ticks, 'tick'>('tick');
      },
      { wrapper: withClient(client) },
    );
    const before = renders;
    await asInBrowser(async () => {
      for (let i = 0; i < 1000; i++) fake.last!.push({ type: 'tick', payload: { n: i } });
      await waitFor(() => expect(result.current).toHaveLength(1000), WAIT);
    });
    expect(renders - before).toBe(1);
    act(() => client.dispose());
  });

  it('spreads a stream over one render per throttleMs and always renders the last message', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const { result } = renderHook(
      () => {
        renders++;
        return useMessages<Ticks, 'tick'>('tick', { throttleMs: 100 });
      },
      { wrapper: withClient(client) },
    );
    const before = renders;
    const started = Date.now();
    await asInBrowser(async () => {
      // 30 messages, one every 10 ms (each in its own task): about 300 ms.
      for (let i = 0; i < 30; i++) {
        fake.last!.push({ type: 'tick', payload: { n: i } });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await waitFor(() => expect(result.current).toHaveLength(30), WAIT);
    });
    const elapsed = Date.now() - started;
    expect(result.current[29]).toEqual({ n: 29 });
    // At most one render per 100 ms window, plus the first: far fewer than 30.
    expect(renders - before).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    expect(renders - before).toBeGreaterThanOrEqual(2);
    act(() => client.dispose());
  });

  it('keeps the newest max, oldest first, and only payloads of its type since mount', async () => {
    const { fake, client } = await connectedClient();
    await burst(fake, 5); // before mount: not shown
    const { result } = renderHook(() => useMessages<Ticks, 'tick'>('tick', { max: 3 }), {
      wrapper: withClient(client),
      reactStrictMode: true,
    });
    await act(async () => {
      fake.last!.push({ type: 'other', payload: 'x' });
    });
    expect(result.current).toEqual([]);
    await burst(fake, 10, 100);
    expect(result.current).toEqual([{ n: 107 }, { n: 108 }, { n: 109 }]);
    act(() => client.dispose());
  });

  it('refuses a bad max or throttleMs with RXWIRE_INVALID_OPTION', () => {
    const { client } = fakeClient();
    for (const options of [{ max: 0 }, { max: 1.5 }, { throttleMs: -1 }]) {
      expect(() =>
        renderHook(() => useMessages<Ticks, 'tick'>('tick', options), {
          wrapper: withClient(client),
        }),
      ).toThrow(expect.objectContaining({ code: 'RXWIRE_INVALID_OPTION' }));
    }
    client.dispose();
  });
});

describe('useLatestMessage', () => {
  it('is undefined until the first message, then the latest; a burst renders once', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const { result, rerender } = renderHook(
      ({ type }: { type: 'tick' | 'other' }) => {
        renders++;
        return useLatestMessage<Ticks>(type);
      },
      { wrapper: withClient(client), initialProps: { type: 'tick' as 'tick' | 'other' } },
    );
    expect(result.current).toBeUndefined();
    const before = renders;
    await burst(fake, 1000);
    expect(result.current).toEqual({ n: 999 });
    expect(renders - before).toBe(1);
    // Another type starts from undefined.
    rerender({ type: 'other' });
    expect(result.current).toBeUndefined();
    await act(async () => fake.last!.push({ type: 'other', payload: 'hello' }));
    expect(result.current).toBe('hello');
    act(() => client.dispose());
  });

  it('with throttleMs, renders the first at once and the last of a stream when the window ends', async () => {
    const { fake, client } = await connectedClient();
    let renders = 0;
    const { result } = renderHook(
      () => {
        renders++;
        return useLatestMessage<Ticks, 'tick'>('tick', { throttleMs: 200 });
      },
      { wrapper: withClient(client) },
    );
    const before = renders;
    await asInBrowser(async () => {
      fake.last!.push({ type: 'tick', payload: { n: 0 } });
      await waitFor(() => expect(result.current).toEqual({ n: 0 }), WAIT);
      for (let i = 1; i <= 5; i++) fake.last!.push({ type: 'tick', payload: { n: i } });
      await waitFor(() => expect(result.current).toEqual({ n: 5 }), WAIT);
    });
    expect(renders - before).toBe(2);
    act(() => client.dispose());
  });
});
