// Server rendering (the node environment: no window, no document, and in
// Node 20 no WebSocket): renderToString of a tree with the provider and every
// hook throws nothing, opens no connection, starts no timer, and renders the
// state of a client that has not connected yet.
import { renderToString } from 'react-dom/server';
import type { WebSocketConstructor } from '../../src/client/socket';
import { createClient, type AnyProtocol, type ClientOptions } from '../../src/index';
import {
  ConnectionStatus,
  RxwireProvider,
  useConnectionState,
  useConnectionStatus,
  useLatestMessage,
  useMessage,
  useMessages,
  useMicrophone,
  useRequest,
  useRxwire,
} from '../../src/react/index';

/** A WebSocket constructor that counts the sockets anyone tries to open. */
function countingWebSocket(): { Ctor: WebSocketConstructor; opened: () => number } {
  let opened = 0;
  const Ctor = function () {
    opened++;
    throw new Error('no socket may be opened while rendering on the server');
  } as unknown as WebSocketConstructor;
  return { Ctor, opened: () => opened };
}

function Page() {
  const client = useRxwire();
  const status = useConnectionState((s) => s.status);
  const view = useConnectionStatus();
  useMessage<AnyProtocol>('notice', () => undefined);
  const latest = useLatestMessage<AnyProtocol>('presence');
  const list = useMessages<AnyProtocol>('tick', { throttleMs: 50 });
  const reply = useRequest<AnyProtocol>('chat');
  const mic = useMicrophone();
  return (
    <main>
      <ConnectionStatus />
      <p id="status">{status}</p>
      <p id="tone">{view.tone}</p>
      <p id="rest">{`${String(latest)} ${list.length} ${reply.status} ${mic.active}`}</p>
      <button onClick={() => client.send('typing', { on: true })}>type</button>
    </main>
  );
}

it('runs in an environment with no window, document or WebSocket', () => {
  const g = globalThis as Record<string, unknown>;
  expect([typeof g.window, typeof g.document, typeof g.WebSocket]).toEqual([
    'undefined',
    'undefined',
    'undefined',
  ]);
});

it.each<[string, (ctor: WebSocketConstructor) => ClientOptions]>([
  ['a WebSocketCtor', (Ctor) => ({ url: 'ws://app.example/ws', WebSocketCtor: Ctor })],
  ['no WebSocketCtor (Node 20 has no WebSocket)', () => ({ url: 'ws://app.example/ws' })],
  ['the HTTP fallback', () => ({ url: 'ws://app.example/ws', transports: ['websocket', 'http'] })],
])(
  'renderToString with <RxwireProvider options> and %s: no throw, no connection, idle',
  (_, options) => {
    const { Ctor, opened } = countingWebSocket();
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const html = renderToString(
      <RxwireProvider options={options(Ctor)}>
        <Page />
      </RxwireProvider>,
    );
    expect(html).toContain('<p id="status">idle</p>');
    expect(html).toContain('<p id="tone">red</p>');
    expect(html).toContain('data-status="idle"');
    expect(html).toContain('undefined 0 idle false');
    expect(opened()).toBe(0);
    expect(fetchSpy).not.toHaveBeenCalled();
    fetchSpy.mockRestore();
  },
);

it('renders a shared client as idle too, whatever it is doing, so hydration matches', () => {
  const { Ctor, opened } = countingWebSocket();
  const client = createClient({
    url: 'ws://app.example/ws',
    WebSocketCtor: Ctor,
    autoConnect: false,
  });
  client.send('queued', 1); // the state changes (queued: 1); the server snapshot does not
  const html = renderToString(
    <RxwireProvider client={client}>
      <Page />
    </RxwireProvider>,
  );
  expect(html).toContain('<p id="status">idle</p>');
  expect(opened()).toBe(0);
  client.dispose();
});
