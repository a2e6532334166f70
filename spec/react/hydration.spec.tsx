/**
 * @jest-environment jsdom
 */
// Server markup hydrated in the browser: the hooks read the same idle state
// while hydrating (no mismatch, nothing to recover from), then the owned
// client connects once, in an effect.
import './node-globals';
import { StrictMode } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { act, waitFor } from '@testing-library/react';
import { createClient, type Client } from '../../src/index';
import { ConnectionStatus, RxwireProvider, useConnectionState } from '../../src/react/index';
import { FakeServer } from '../../src/testing/index';
import { spyOnReactWarnings } from './helpers';

function Page({ fake }: { fake: FakeServer }) {
  return (
    <RxwireProvider options={{ WebSocketCtor: fake.WebSocket, heartbeat: false }}>
      <ConnectionStatus />
      <Queue />
    </RxwireProvider>
  );
}

function Queue() {
  return <p id="queued">{useConnectionState((s) => s.queued)}</p>;
}

it('hydrates the server markup without a mismatch, then connects once', async () => {
  const fake = new FakeServer();
  const html = renderToString(<Page fake={fake} />);
  expect(fake.sockets).toHaveLength(0);
  expect(html).toContain('data-status="idle"');

  const container = document.createElement('div');
  container.innerHTML = html;
  document.body.append(container);
  const warnings = spyOnReactWarnings();
  const recovered: unknown[] = [];
  let root: ReturnType<typeof hydrateRoot> | undefined;
  try {
    await act(async () => {
      root = hydrateRoot(
        container,
        <StrictMode>
          <Page fake={fake} />
        </StrictMode>,
        { onRecoverableError: (error) => recovered.push(error) },
      );
    });
    await waitFor(() =>
      expect(container.querySelector('[data-status]')!.getAttribute('data-status')).toBe(
        'connected',
      ),
    );
    expect(recovered).toEqual([]);
    expect(warnings.messages().filter((m) => /hydrat|did not match/i.test(m))).toEqual([]);
    expect(fake.sockets).toHaveLength(1);
  } finally {
    warnings.restore();
    act(() => root?.unmount());
    container.remove();
  }
});

it('hydrates a shared client that is already busy: the idle server state first, then its own', async () => {
  const serverSide = createClient({
    WebSocketCtor: new FakeServer().WebSocket,
    autoConnect: false,
  });
  const html = renderToString(<Shared client={serverSide} />);
  expect(html).toContain('<p id="queued">0</p>');

  // In the browser the client was made at module load: it queued a message and is connecting.
  const fake = new FakeServer({ openDelay: 50 });
  const client = createClient({ WebSocketCtor: fake.WebSocket, heartbeat: false });
  client.send('hello', 1);
  expect(client.state).toMatchObject({ status: 'connecting', queued: 1 });

  const container = document.createElement('div');
  container.innerHTML = html;
  document.body.append(container);
  const recovered: unknown[] = [];
  let root: ReturnType<typeof hydrateRoot> | undefined;
  try {
    await act(async () => {
      root = hydrateRoot(container, <Shared client={client} />, {
        onRecoverableError: (error) => recovered.push(error),
      });
    });
    expect(recovered).toEqual([]);
    await waitFor(() =>
      expect(container.querySelector('[data-status]')!.getAttribute('data-status')).toBe(
        'connected',
      ),
    );
    expect(container.querySelector('#queued')!.textContent).toBe('0');
  } finally {
    act(() => root?.unmount());
    container.remove();
    act(() => client.dispose());
    serverSide.dispose();
  }
});

function Shared({ client }: { client: Client }) {
  return (
    <RxwireProvider client={client}>
      <ConnectionStatus />
      <Queue />
    </RxwireProvider>
  );
}
