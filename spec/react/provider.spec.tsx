/**
 * @jest-environment jsdom
 */
// RxwireProvider and useRxwire against FakeServer (real time): one connection
// under StrictMode, one client shared by every consumer, consumers that come
// and go without touching it, and a provider that disposes only what it owns.
import { Activity, StrictMode, useState, type ReactNode } from 'react';
import { act, render, renderHook, screen, waitFor } from '@testing-library/react';
import type { Client } from '../../src/index';
import {
  RxwireProvider,
  useConnectionState,
  useRxwire,
  type RxwireProviderProps,
} from '../../src/react/index';
import { FakeServer } from '../../src/testing/index';
import { fakeClient, failOnReactWarnings, withClient } from './helpers';

const WAIT = { timeout: 10_000 };

/** A provider that owns its client, on `fake`. */
function owning(fake: FakeServer, extra: object = {}) {
  return function Owning({ children }: { children?: ReactNode }) {
    return (
      <RxwireProvider options={{ WebSocketCtor: fake.WebSocket, heartbeat: false, ...extra }}>
        {children}
      </RxwireProvider>
    );
  };
}

failOnReactWarnings();

describe('RxwireProvider with options (an owned client)', () => {
  it('opens exactly one connection under StrictMode, and keeps it', async () => {
    const fake = new FakeServer();
    const { result } = renderHook(() => useConnectionState((s) => s.status), {
      wrapper: owning(fake),
      reactStrictMode: true,
    });
    await waitFor(() => expect(result.current).toBe('connected'), WAIT);
    // Mount, unmount, mount again: one socket was ever made, and it is open.
    expect(fake.sockets).toHaveLength(1);
    expect(fake.open).toHaveLength(1);
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)));
    expect(fake.sockets).toHaveLength(1);
    expect(result.current).toBe('connected');
  });

  it('gives every consumer the same client', async () => {
    const fake = new FakeServer();
    const seen: Client[] = [];
    function Consumer() {
      seen.push(useRxwire());
      return null;
    }
    const Owning = owning(fake);
    render(
      <StrictMode>
        <Owning>
          <Consumer />
          <div>
            <Consumer />
          </div>
        </Owning>
      </StrictMode>,
    );
    await waitFor(() => expect(seen[0]!.state.status).toBe('connected'), WAIT);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(1);
    expect(fake.sockets).toHaveLength(1);
  });

  it('connects in an effect, not during render, and disposes the client on a real unmount', async () => {
    const fake = new FakeServer();
    let client: Client | undefined;
    let socketsAtRender = -1;
    function Consumer() {
      client = useRxwire();
      socketsAtRender = fake.sockets.length;
      return null;
    }
    const Owning = owning(fake);
    const { unmount } = render(
      <StrictMode>
        <Owning>
          <Consumer />
        </Owning>
      </StrictMode>,
    );
    expect(socketsAtRender).toBe(0);
    await waitFor(() => expect(client!.state.status).toBe('connected'), WAIT);
    const socket = fake.last!;
    unmount();
    await act(() => Promise.resolve()); // the dispose waits one microtask (a StrictMode remount would cancel it)
    expect(client!.state.status).toBe('disconnected');
    expect(socket.clientClose).toEqual({ code: 1000, reason: 'client disposed' });
    expect(() => client!.connect()).toThrow(expect.objectContaining({ code: 'RXWIRE_DISPOSED' }));
  });

  it('does not connect with autoConnect: false until asked', async () => {
    const fake = new FakeServer();
    const { result } = renderHook(
      () => ({ client: useRxwire(), status: useConnectionState((s) => s.status) }),
      { wrapper: owning(fake, { autoConnect: false }), reactStrictMode: true },
    );
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(fake.sockets).toHaveLength(0);
    expect(result.current.status).toBe('idle');
    act(() => result.current.client.connect());
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    expect(fake.sockets).toHaveLength(1);
  });

  // <Activity> came with React 19.2; the 'react 18' project runs these tests on React 18.
  const withActivity = typeof Activity === 'undefined' ? it.skip : it;

  withActivity(
    'replaces a client disposed while its effects were down (an <Activity> hidden, then shown)',
    async () => {
      const fake = new FakeServer();
      const Owning = owning(fake);
      let client: Client | undefined;
      function Consumer() {
        client = useRxwire();
        return <p>{useConnectionState((s) => s.status)}</p>;
      }
      function App({ mode }: { mode: 'visible' | 'hidden' }) {
        return (
          <Activity mode={mode}>
            <Owning>
              <Consumer />
            </Owning>
          </Activity>
        );
      }
      const { rerender } = render(<App mode="visible" />);
      await waitFor(() => expect(screen.getByText('connected')).toBeTruthy(), WAIT);
      const first = client!;
      rerender(<App mode="hidden" />);
      await waitFor(() => expect(first.state.status).toBe('disconnected'), WAIT);
      rerender(<App mode="visible" />);
      await waitFor(() => expect(client).not.toBe(first), WAIT);
      await waitFor(() => expect(screen.getByText('connected')).toBeTruthy(), WAIT);
      expect(fake.open).toHaveLength(1);
    },
  );

  it('refuses both props or neither, and a switch between them, with RXWIRE_INVALID_OPTION', () => {
    const { client } = fakeClient();
    const fake = new FakeServer();
    const both = {
      client,
      options: { WebSocketCtor: fake.WebSocket },
    } as unknown as RxwireProviderProps;
    expect(() => render(<RxwireProvider {...both} />)).toThrow(
      expect.objectContaining({ name: 'RxwireTypeError', code: 'RXWIRE_INVALID_OPTION' }),
    );
    expect(() => render(<RxwireProvider {...({} as RxwireProviderProps)} />)).toThrow(
      expect.objectContaining({ code: 'RXWIRE_INVALID_OPTION' }),
    );
    const { rerender } = render(<RxwireProvider client={client} />);
    expect(() =>
      rerender(<RxwireProvider options={{ WebSocketCtor: fake.WebSocket, autoConnect: false }} />),
    ).toThrow(/switch between `client` and `options`/);
    act(() => client.dispose());
  });
});

describe('RxwireProvider with a client (shared)', () => {
  it('never connects, disconnects or disposes it', async () => {
    const { fake, client } = fakeClient();
    const { unmount } = renderHook(() => useRxwire(), {
      wrapper: withClient(client),
      reactStrictMode: true,
    });
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(fake.sockets).toHaveLength(0); // autoConnect: false stays idle: the provider connects nothing
    client.connect();
    await waitFor(() => expect(client.state.status).toBe('connected'), WAIT);
    unmount();
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
    expect(client.state.status).toBe('connected');
    expect(fake.open).toHaveLength(1);
    act(() => client.dispose());
  });

  it('unmounting a consumer does not close the client; another client switches the hooks to it', async () => {
    const a = fakeClient();
    const b = fakeClient();
    b.fake.newSession(); // b's session is fake-session-2, told apart from a's
    a.client.connect();
    b.client.connect();
    function Status() {
      return <p data-testid="status">{useConnectionState((s) => s.sessionId ?? '-')}</p>;
    }
    function App({ client }: { client: Client }) {
      const [shown, setShown] = useState(true);
      return (
        <RxwireProvider client={client}>
          <button onClick={() => setShown(false)}>hide</button>
          {shown && <Status />}
          <Status />
        </RxwireProvider>
      );
    }
    const { rerender } = render(
      <StrictMode>
        <App client={a.client} />
      </StrictMode>,
    );
    await waitFor(
      () => expect(screen.getAllByTestId('status')[0]!.textContent).toBe('fake-session-1'),
      WAIT,
    );
    act(() => screen.getByText('hide').click());
    expect(screen.getAllByTestId('status')).toHaveLength(1);
    expect(a.client.state.status).toBe('connected');
    expect(a.fake.open).toHaveLength(1);

    rerender(
      <StrictMode>
        <App client={b.client} />
      </StrictMode>,
    );
    await waitFor(
      () => expect(screen.getByTestId('status').textContent).toBe('fake-session-2'),
      WAIT,
    );
    act(() => {
      a.client.dispose();
      b.client.dispose();
    });
  });

  it('outside a provider, the hooks throw RXWIRE_NO_PROVIDER naming themselves', () => {
    expect(() => renderHook(() => useRxwire())).toThrow(
      expect.objectContaining({ name: 'RxwireTypeError', code: 'RXWIRE_NO_PROVIDER' }),
    );
    expect(() => renderHook(() => useConnectionState())).toThrow(
      /useConnectionState\(\) was called outside an <RxwireProvider>/,
    );
  });
});
