/**
 * @jest-environment jsdom
 */
// useConnectionState, useConnectionStatus and <ConnectionStatus /> against
// FakeServer (real time): renders only when the selection changes, tones and
// labels through a drop, a give-up and a retry, and no React warnings.
import { StrictMode } from 'react';
import { act, fireEvent, render, renderHook, screen, waitFor } from '@testing-library/react';
import {
  ConnectionStatus,
  useConnectionState,
  useConnectionStatus,
  useRxwire,
} from '../../src/react/index';
import { fakeClient, failOnReactWarnings, withClient } from './helpers';

const WAIT = { timeout: 10_000 };
const pause = (ms: number) => act(() => new Promise<void>((resolve) => setTimeout(resolve, ms)));

failOnReactWarnings();

describe('useConnectionState', () => {
  it('with a selector, re-renders only when the selected value changes', async () => {
    const { client } = fakeClient();
    const renders = { status: 0, pair: 0, pairByIdentity: 0, full: 0 };
    function Status() {
      renders.status++;
      return <p data-testid="status">{useConnectionState((s) => s.status)}</p>;
    }
    function Pair() {
      renders.pair++;
      const { status, attempt } = useConnectionState((s) => ({
        status: s.status,
        attempt: s.attempt,
      }));
      return <p>{`${status} ${attempt}`}</p>;
    }
    function PairByIdentity() {
      renders.pairByIdentity++;
      const pair = useConnectionState((s) => ({ status: s.status, attempt: s.attempt }), Object.is);
      return <p>{pair.status}</p>;
    }
    function Full() {
      renders.full++;
      return <p data-testid="queued">{useConnectionState().queued}</p>;
    }
    const Wrapper = withClient(client);
    render(
      <Wrapper>
        <Status />
        <Pair />
        <PairByIdentity />
        <Full />
      </Wrapper>,
    );
    expect(renders).toEqual({ status: 1, pair: 1, pairByIdentity: 1, full: 1 });

    // While idle, sends queue: the state changes ten times, the status does not.
    for (let i = 0; i < 10; i++) {
      act(() => client.send('note', i));
    }
    expect(screen.getByTestId('queued').textContent).toBe('10');
    expect(renders.full).toBe(11);
    expect(renders.status).toBe(1);
    expect(renders.pair).toBe(1); // a new object each time, equal by the default shallow isEqual
    expect(renders.pairByIdentity).toBe(11); // Object.is sees a new object each time

    act(() => client.connect());
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('connected'), WAIT);
    expect(renders.status).toBeGreaterThanOrEqual(3); // connecting, connected
    expect(renders.status).toBeLessThanOrEqual(4);
    act(() => client.dispose());
  });

  it('returns client.state itself without a selector, the same object while nothing changes', async () => {
    const { client } = fakeClient();
    const { result, rerender } = renderHook(() => useConnectionState(), {
      wrapper: withClient(client),
      reactStrictMode: true,
    });
    const first = result.current;
    expect(first).toBe(client.state);
    rerender();
    expect(result.current).toBe(first);
    act(() => client.connect());
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    expect(result.current).toBe(client.state);
    expect(Object.isFrozen(result.current)).toBe(true);
    act(() => client.dispose());
  });

  it('connect() right after disconnect() ends connected', async () => {
    const { fake, client } = fakeClient();
    fake.closeDelay = 50; // the close handshake is still pending when connect() comes
    const { result } = renderHook(
      () => ({ client: useRxwire(), status: useConnectionState((s) => s.status) }),
      { wrapper: withClient(client), reactStrictMode: true },
    );
    act(() => result.current.client.connect());
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    act(() => {
      result.current.client.disconnect();
      result.current.client.connect();
    });
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    await pause(150); // past the old close: still connected
    expect(result.current.status).toBe('connected');
    expect(fake.open).toHaveLength(1);
    act(() => client.dispose());
  });
});

describe('useConnectionStatus', () => {
  it('follows idle, connected, reconnecting, error, a retry and a disconnect with tone, label and attempts', async () => {
    const { fake, client } = fakeClient({
      reconnect: { initialDelay: 150, jitter: 0, maxAttempts: 2 },
    });
    const { result } = renderHook(() => useConnectionStatus(), {
      wrapper: withClient(client),
      reactStrictMode: true,
    });
    expect(result.current).toMatchObject({
      status: 'idle',
      tone: 'red',
      label: 'Not connected',
      canRetry: false,
      attempt: 0,
      maxAttempts: 2,
      latencyMs: undefined,
    });
    const retry = result.current.retry;

    act(() => client.connect());
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    expect(result.current).toMatchObject({ tone: 'green', label: 'Connected', canRetry: false });
    expect(result.current.latencyMs).toEqual(expect.any(Number));

    fake.behavior = 'refuse';
    act(() => fake.last!.drop());
    await waitFor(() => expect(result.current.status).toBe('reconnecting'), WAIT);
    expect(result.current).toMatchObject({
      tone: 'yellow',
      label: 'Reconnecting…',
      attempt: 1,
      maxAttempts: 2,
      retryInMs: 150,
      latencyMs: undefined,
      canRetry: false,
    });
    expect(result.current.retryAt).toEqual(expect.any(Number));

    await waitFor(() => expect(result.current.status).toBe('error'), WAIT);
    expect(result.current).toMatchObject({
      tone: 'gray',
      label: 'Connection failed',
      canRetry: true,
    });
    expect(result.current.error?.code).toBe('RXWIRE_RECONNECT_FAILED');
    expect(result.current.retry).toBe(retry); // stable across renders

    fake.behavior = 'accept';
    act(() => result.current.retry());
    await waitFor(() => expect(result.current.status).toBe('connected'), WAIT);
    expect(result.current.error).toBeUndefined();

    fake.closeDelay = 100;
    act(() => client.disconnect());
    expect(result.current).toMatchObject({ status: 'disconnecting', tone: 'yellow' });
    await waitFor(() => expect(result.current.status).toBe('disconnected'), WAIT);
    expect(result.current).toMatchObject({ tone: 'red', label: 'Disconnected', canRetry: true });
    act(() => client.dispose());
  });

  it('takes labels for any status', () => {
    const { client } = fakeClient();
    const { result } = renderHook(() => useConnectionStatus({ labels: { idle: 'Hors ligne' } }), {
      wrapper: withClient(client),
    });
    expect(result.current.label).toBe('Hors ligne');
    act(() => client.dispose());
  });
});

describe('<ConnectionStatus />', () => {
  it('shows data-status, data-tone, the latency, "Retry n/max" while reconnecting and a Retry button when it gave up', async () => {
    const { fake, client } = fakeClient({
      reconnect: { initialDelay: 300, jitter: 0, maxAttempts: 2 },
    });
    const Wrapper = withClient(client);
    const { container } = render(
      <StrictMode>
        <Wrapper>
          <ConnectionStatus className="status" />
        </Wrapper>
      </StrictMode>,
    );
    const root = () => container.querySelector('.status') as HTMLElement;
    const part = (name: string) => root().querySelector(`[data-part="${name}"]`);
    expect(root().dataset).toMatchObject({ status: 'idle', tone: 'red' });
    expect(part('label')?.textContent).toBe('Not connected');
    expect(part('latency')).toBeNull();

    act(() => client.connect());
    await waitFor(() => expect(root().dataset.status).toBe('connected'), WAIT);
    expect(root().dataset.tone).toBe('green');
    expect(part('latency')?.textContent).toMatch(/^\d+ ms$/);
    expect(part('retry')).toBeNull();

    fake.behavior = 'refuse';
    act(() => fake.last!.drop());
    await waitFor(() => expect(part('attempt')?.textContent).toBe('Retry 1/2'), WAIT);
    expect(root().dataset).toMatchObject({ status: 'reconnecting', tone: 'yellow' });
    await waitFor(() => expect(part('attempt')?.textContent).toBe('Retry 2/2'), WAIT);

    await waitFor(() => expect(root().dataset.status).toBe('error'), WAIT);
    expect(root().dataset.tone).toBe('gray');
    expect(part('attempt')).toBeNull();
    fake.behavior = 'accept';
    fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(root().dataset.status).toBe('connected'), WAIT);
    expect(part('retry')).toBeNull();

    act(() => client.disconnect());
    await waitFor(() => expect(root().dataset.status).toBe('disconnected'), WAIT);
    expect(root().dataset.tone).toBe('red');
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();
    act(() => client.dispose());
  });

  it('says "Retry n" without a maximum when the client never gives up', async () => {
    const { fake, client } = fakeClient({
      reconnect: { initialDelay: 5_000, jitter: 0, maxAttempts: Infinity },
    });
    const Wrapper = withClient(client);
    const { container } = render(
      <Wrapper>
        <ConnectionStatus retryText="Try again" labels={{ reconnecting: 'Back soon' }} />
      </Wrapper>,
    );
    act(() => client.connect());
    await waitFor(() => expect(container.textContent).toMatch(/Connected/), WAIT);
    act(() => fake.last!.drop());
    await waitFor(() => expect(container.textContent).toBe('Back soonRetry 1'), WAIT);
    act(() => client.dispose());
  });
});
