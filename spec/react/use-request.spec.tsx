/**
 * @jest-environment jsdom
 * @jest-environment-options {"customExportConditions": ["node", "node-addons"]}
 */
// useRequest against a real rxwire server on port 0 (the client on `ws`,
// recording what it sends): stop(), a new start() and unmount each send
// exactly one $cancel and the server's handler is unsubscribed; a request
// that completes sends none; errors are the client's typed errors.
import './node-globals';
import { act, renderHook, waitFor } from '@testing-library/react';
import { interval, map, take, tap, throwError } from 'rxjs';
import { createClient, type Client, type Protocol } from '../../src/index';
import { useRequest } from '../../src/react/index';
import { Disposer, connected, startServer } from '../helpers/server-harness';
import {
  forbiddenWarnings,
  recordingWebSocket,
  sentTypes,
  spyOnReactWarnings,
  withClient,
} from './helpers';

interface Api extends Protocol {
  client: Record<string, never>;
  server: Record<string, never>;
  requests: {
    tokens: { request: { count: number; everyMs: number }; response: { token: string } };
    fail: { request: null; response: never };
    missing: { request: null; response: never };
  };
}

const WAIT = { timeout: 10_000 };
const disposer = new Disposer();
afterEach(() => disposer.drain());

/** What the server's `tokens` handler did, per request. */
interface Handled {
  sent: number;
  ended: 'running' | 'completed' | 'unsubscribed';
}

async function setUp(): Promise<{
  client: Client<Api>;
  handled: Handled[];
  cancels: () => number;
  warnings: ReturnType<typeof spyOnReactWarnings>;
}> {
  const { server, url } = await startServer<Api>(disposer, { heartbeat: false });
  const handled: Handled[] = [];
  server.handle('tokens', ({ count, everyMs }) => {
    const record: Handled = { sent: 0, ended: 'running' };
    handled.push(record);
    return interval(everyMs).pipe(
      take(count),
      map((i) => ({ token: `t${i} ` })),
      tap({
        next: () => record.sent++,
        complete: () => (record.ended = 'completed'),
        // Runs only when the subscriber leaves before the end: the $cancel.
        unsubscribe: () => (record.ended = 'unsubscribed'),
      }),
    );
  });
  server.handle('fail', () =>
    throwError(() => Object.assign(new Error('no tokens today'), { code: 'APP_OUT_OF_TOKENS' })),
  );
  const { Ctor, sent } = recordingWebSocket();
  const client = createClient<Api>({ url, WebSocketCtor: Ctor, heartbeat: false });
  disposer.add(() => client.dispose());
  await connected(client);
  const warnings = spyOnReactWarnings();
  disposer.add(() => warnings.restore());
  return {
    client,
    handled,
    cancels: () => sentTypes(sent).filter((t) => t === '$cancel').length,
    warnings,
  };
}

const join = (text: string, { token }: { token: string }) => text + token;

describe('useRequest against a real server', () => {
  it('streams values into data with reduce; stop() sends one $cancel and the handler is unsubscribed', async () => {
    const { client, handled, cancels, warnings } = await setUp();
    const { result } = renderHook(
      () => useRequest<Api, 'tokens', string>('tokens', { reduce: join, initial: '' }),
      { wrapper: withClient(client), reactStrictMode: true },
    );
    expect(result.current.status).toBe('idle');
    expect(result.current.data).toBe('');

    act(() => result.current.start({ count: 1000, everyMs: 5 }));
    expect(result.current.status).toBe('submitted');
    await waitFor(() => expect(result.current.data).toMatch(/^t0 t1 t2 /), WAIT);
    expect(result.current.status).toBe('streaming');
    expect(handled).toHaveLength(1); // StrictMode rendered twice; the request went out once

    act(() => result.current.stop());
    expect(result.current).toMatchObject({ status: 'ready', stopped: true, error: undefined });
    await waitFor(() => expect(handled[0]!.ended).toBe('unsubscribed'), WAIT);
    expect(cancels()).toBe(1);
    // What the hook shows is what the server sent before the $cancel.
    const shown = result.current.data.trim().split(' ');
    expect(shown.length).toBeLessThanOrEqual(handled[0]!.sent);
    act(() => result.current.stop()); // nothing left to cancel
    expect(cancels()).toBe(1);
    expect(warnings.messages().filter((m) => forbiddenWarnings.test(m))).toEqual([]);
  });

  it('unmounting while streaming sends one $cancel and the handler is unsubscribed', async () => {
    const { client, handled, cancels } = await setUp();
    const { result, unmount } = renderHook(() => useRequest<Api, 'tokens'>('tokens'), {
      wrapper: withClient(client),
      reactStrictMode: true,
    });
    act(() => result.current.start({ count: 1000, everyMs: 5 }));
    await waitFor(() => expect(result.current.data).toEqual({ token: expect.any(String) }), WAIT);
    unmount();
    await waitFor(() => expect(handled[0]!.ended).toBe('unsubscribed'), WAIT);
    expect(cancels()).toBe(1);
    expect(client.state.status).toBe('connected'); // the shared client lives on
  });

  it('a new start() cancels the running request (one $cancel) and runs the new one to completion', async () => {
    const { client, handled, cancels } = await setUp();
    const { result } = renderHook(
      () => useRequest<Api, 'tokens', string>('tokens', { reduce: join, initial: '' }),
      { wrapper: withClient(client), reactStrictMode: true },
    );
    act(() => result.current.start({ count: 1000, everyMs: 5 }));
    await waitFor(() => expect(result.current.data.length).toBeGreaterThan(0), WAIT);
    act(() => result.current.start({ count: 3, everyMs: 1 }));
    expect(result.current).toMatchObject({ status: 'submitted', data: '' });
    await waitFor(() => expect(result.current.status).toBe('ready'), WAIT);
    expect(result.current).toMatchObject({ data: 't0 t1 t2 ', stopped: false });
    await waitFor(() => expect(handled[0]!.ended).toBe('unsubscribed'), WAIT);
    expect(handled[1]!.ended).toBe('completed');
    expect(cancels()).toBe(1);
  });

  it('a request that completes sends no $cancel, not even when stopped or unmounted afterwards', async () => {
    const { client, handled, cancels } = await setUp();
    const { result, unmount } = renderHook(
      () => useRequest<Api, 'tokens', string>('tokens', { reduce: join, initial: '' }),
      { wrapper: withClient(client), reactStrictMode: true },
    );
    act(() => result.current.start({ count: 5, everyMs: 1 }));
    await waitFor(() => expect(result.current.status).toBe('ready'), WAIT);
    expect(result.current.data).toBe('t0 t1 t2 t3 t4 ');
    expect(handled[0]!.ended).toBe('completed');
    act(() => result.current.stop());
    unmount();
    // A request sent afterwards (on another hook) proves the $cancel would have gone out by now.
    const probe = renderHook(() => useRequest<Api, 'tokens'>('tokens'), {
      wrapper: withClient(client),
    });
    act(() => probe.result.current.start({ count: 1, everyMs: 1 }));
    await waitFor(() => expect(probe.result.current.status).toBe('ready'), WAIT);
    expect(cancels()).toBe(0);
  });

  it('retry() sends the last request again; reset() goes back to idle with the initial data', async () => {
    const { client, handled } = await setUp();
    const { result } = renderHook(
      () => useRequest<Api, 'tokens', string>('tokens', { reduce: join, initial: '>' }),
      { wrapper: withClient(client) },
    );
    act(() => result.current.retry()); // nothing to retry yet
    expect(result.current.status).toBe('idle');
    act(() => result.current.start({ count: 2, everyMs: 1 }));
    await waitFor(() => expect(result.current.status).toBe('ready'), WAIT);
    act(() => result.current.retry());
    await waitFor(() => expect(handled).toHaveLength(2), WAIT);
    await waitFor(() => expect(result.current.status).toBe('ready'), WAIT);
    expect(result.current.data).toBe('>t0 t1 ');
    act(() => result.current.reset());
    expect(result.current).toMatchObject({ status: 'idle', data: '>', error: undefined });
  });

  it('a failing handler, a missing handler and a stopped client end in error with the typed error', async () => {
    const { client } = await setUp();
    const { result } = renderHook(
      () => ({
        fail: useRequest<Api, 'fail'>('fail'),
        missing: useRequest<Api, 'missing'>('missing'),
      }),
      { wrapper: withClient(client), reactStrictMode: true },
    );
    act(() => {
      result.current.fail.start(null);
      result.current.missing.start(null);
    });
    await waitFor(() => expect(result.current.fail.status).toBe('error'), WAIT);
    expect(result.current.fail.error).toMatchObject({
      name: 'RemoteError',
      code: 'APP_OUT_OF_TOKENS',
    });
    await waitFor(() => expect(result.current.missing.status).toBe('error'), WAIT);
    expect(result.current.missing.error?.code).toBe('RXWIRE_NO_HANDLER');

    client.disconnect();
    await waitFor(() => expect(client.state.status).toBe('disconnected'), WAIT);
    act(() => result.current.fail.start(null));
    expect(result.current.fail.status).toBe('error');
    expect(result.current.fail.error?.code).toBe('RXWIRE_CONNECTION_LOST');
  });

  it('a reduce that throws ends the request: one $cancel, error RXWIRE_HANDLER_ERROR', async () => {
    const { client, handled, cancels } = await setUp();
    const { result } = renderHook(
      () =>
        useRequest<Api, 'tokens', number>('tokens', {
          initial: 0,
          reduce: (n) => {
            if (n === 2) throw new Error('enough');
            return n + 1;
          },
        }),
      { wrapper: withClient(client) },
    );
    act(() => result.current.start({ count: 1000, everyMs: 2 }));
    await waitFor(() => expect(result.current.status).toBe('error'), WAIT);
    expect(result.current.error).toMatchObject({ code: 'RXWIRE_HANDLER_ERROR' });
    expect(result.current.error?.message).toMatch(/reduce threw: enough/);
    expect(result.current.data).toBe(2);
    await waitFor(() => expect(handled[0]!.ended).toBe('unsubscribed'), WAIT);
    expect(cancels()).toBe(1);
  });

  it('a reserved type is refused at start(), shown as an error, never thrown', async () => {
    const { client } = await setUp();
    const { result } = renderHook(() => useRequest('$hello' as never), {
      wrapper: withClient(client),
    });
    act(() => result.current.start(null as never));
    expect(result.current.status).toBe('error');
    expect(result.current.error?.code).toBe('RXWIRE_RESERVED_TYPE');
  });
});
