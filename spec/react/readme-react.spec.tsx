/**
 * @jest-environment jsdom
 * @jest-environment-options {"customExportConditions": ["node", "node-addons"]}
 */
// The README's React section, verbatim between the #region markers, run in
// jsdom (StrictMode, jsdom's own WebSocket) against a real rxwire server on
// port 0: the provider and its status, a chat reply streamed in and stopped
// on the server, the microphone into client.audio (stubbed browser audio),
// presence, and the recipe that keeps the state in a store of your own.
import './node-globals';
import { StrictMode } from 'react';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { tap } from 'rxjs';
import type { AudioChunk } from '../../src/audio/index';
import { createClient, type ConnectionState } from '../../src/index';
import { replyTokens } from '../../demo/chat';
import { Disposer, startServer } from '../helpers/server-harness';
import { fakes, useFakeMicrophone } from '../helpers/fake-microphone';
import { fakeClient, withClient } from './helpers';

// #region readme-react-provider
import { ConnectionStatus, RxwireProvider } from 'rxwire/react';
import type { ChatProtocol } from './protocol';

// Once per app: every hook below is typed by your protocol.
declare module 'rxwire/react' {
  interface Register {
    protocol: ChatProtocol;
  }
}

export function App({ url }: { url: string }) {
  return (
    <RxwireProvider options={{ url, token: () => auth.currentToken() }}>
      <header>
        <h1>Chat</h1>
        <ConnectionStatus className="status" />
      </header>
      <Chat />
      <Talk />
    </RxwireProvider>
  );
}
// #endregion

// #region readme-react-status
import { useConnectionStatus } from 'rxwire/react';

function StatusHeader() {
  const { status, tone, label, latencyMs, attempt, maxAttempts, canRetry, retry } =
    useConnectionStatus();
  return (
    <header data-tone={tone}>
      {label}
      {latencyMs !== undefined && <small> {Math.round(latencyMs)} ms</small>}
      {status === 'reconnecting' && (
        <small>
          {' '}
          Retry {attempt}/{maxAttempts}
        </small>
      )}
      {canRetry && <button onClick={retry}>Retry</button>}
    </header>
  );
}
// #endregion

// #region readme-react-chat
import { useState } from 'react';
import { useRequest } from 'rxwire/react';

function Chat() {
  const [text, setText] = useState('');
  const reply = useRequest('chat', {
    reduce: (answer: string, { token }) => answer + token, // streamed in token by token
    initial: '',
  });
  const busy = reply.status === 'submitted' || reply.status === 'streaming';
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        reply.start({ text }); // a new message cancels the reply in progress
      }}
    >
      <input value={text} onChange={(event) => setText(event.target.value)} />
      <button type="submit">Send</button>
      <button type="button" onClick={reply.stop} disabled={!busy}>
        Stop
      </button>
      <p aria-live="polite">{reply.data}</p>
      {reply.error && <p role="alert">{reply.error.message}</p>}
    </form>
  );
}
// #endregion

// #region readme-react-microphone
import { useMicrophone } from 'rxwire/react';

function Talk() {
  // fromMicrophone() → resample(16000) → toPcm16() → frames(20) → client.audio
  const mic = useMicrophone({ sampleRate: 16000, frameMs: 20 });
  return (
    <section>
      <button onClick={mic.active ? mic.stop : mic.start}>{mic.active ? 'Stop' : 'Talk'}</button>
      <meter min={-60} max={0} value={mic.level ?? -60} />
      <small>
        {mic.stats.sent} frames sent, {mic.stats.droppedOffline} dropped offline
      </small>
      {mic.error?.code === 'RXWIRE_MIC_PERMISSION_DENIED' && (
        <p role="alert">Allow the microphone</p>
      )}
    </section>
  );
}
// #endregion

// #region readme-react-messages
import { useLatestMessage, useMessage, useMessages } from 'rxwire/react';

function Online() {
  const presence = useLatestMessage('presence'); // renders when a new one arrives
  const history = useMessages('presence', { max: 20, throttleMs: 250 }); // the last 20, oldest first
  useMessage('presence', ({ online }) => (document.title = `${online} online`)); // never renders
  return <span title={history.map((p) => p.online).join(' → ')}>{presence?.online ?? '–'}</span>;
}
// #endregion

const auth = { currentToken: () => 'a token' };
const WAIT = { timeout: 10_000 };
const disposer = new Disposer();
afterEach(() => disposer.drain());
useFakeMicrophone();

/** A server with the demo's chat handler, recording what each chat request did. */
async function chatServer() {
  const started = await startServer<ChatProtocol>(disposer, { heartbeat: false });
  const chats: Array<{ text: string; ended: 'running' | 'completed' | 'unsubscribed' }> = [];
  started.server.handle('chat', ({ text }) => {
    const record = { text, ended: 'running' as 'running' | 'completed' | 'unsubscribed' };
    chats.push(record);
    return replyTokens(text, 20).pipe(
      tap({
        complete: () => (record.ended = 'completed'),
        unsubscribe: () => (record.ended = 'unsubscribed'),
      }),
    );
  });
  const audio: AudioChunk[] = [];
  started.server.sessions$.subscribe((session) => session.audio$.subscribe((c) => audio.push(c)));
  return { ...started, chats, audio };
}

describe('README: React', () => {
  it('the App: one connection, a green status with the latency, a reply streamed in and stopped on the server', async () => {
    const { server, url, chats } = await chatServer();
    const { container, unmount } = render(
      <StrictMode>
        <App url={url} />
      </StrictMode>,
    );
    const status = () => container.querySelector('.status') as HTMLElement;
    await waitFor(() => expect(status().dataset.tone).toBe('green'), WAIT);
    expect(status().textContent).toMatch(/^Connected\d+ ms$/);
    expect(server.sessions.size).toBe(1);

    fireEvent.change(screen.getByRole('textbox'), { target: { value: 'hello' } });
    fireEvent.click(screen.getByText('Send'));
    const reply = () => container.querySelector('p[aria-live]')!.textContent!;
    await waitFor(() => expect(reply()).toMatch(/^You said "hello"/), WAIT);
    await waitFor(() => expect(chats[0]?.ended).toBe('completed'), WAIT);
    expect(reply()).toMatch(/\$complete ends it\.$/);
    expect(screen.getByText('Stop')).toHaveProperty('disabled', true);

    fireEvent.change(screen.getByRole('textbox'), { target: { value: 'stop me' } });
    fireEvent.click(screen.getByText('Send'));
    await waitFor(() => expect(reply()).toMatch(/^You said "stop me"/), WAIT);
    fireEvent.click(screen.getByText('Stop'));
    await waitFor(() => expect(chats[1]?.ended).toBe('unsubscribed'), WAIT);
    expect(chats).toHaveLength(2);
    unmount();
    await waitFor(() => expect(server.sessions.size).toBe(0), WAIT); // disposed: the session ended
  });

  it('the status header: tone, label, latency; Retry when the client stopped', async () => {
    const { url } = await chatServer();
    const client = createClient<ChatProtocol>({ url, heartbeat: false });
    disposer.add(() => client.dispose());
    const Provider = withClient(client);
    const { container } = render(
      <Provider>
        <StatusHeader />
      </Provider>,
    );
    const header = () => container.querySelector('header')!;
    await waitFor(() => expect(header().dataset.tone).toBe('green'), WAIT);
    expect(header().textContent).toMatch(/^Connected \d+ ms$/);
    act(() => client.disconnect());
    await waitFor(() => expect(header().dataset.tone).toBe('red'), WAIT);
    fireEvent.click(screen.getByText('Retry'));
    await waitFor(() => expect(header().dataset.tone).toBe('green'), WAIT);
  });

  it('Talk: the microphone into client.audio, PCM16 at 16 kHz, stopped with its tracks', async () => {
    const { url, audio } = await chatServer();
    const client = createClient<ChatProtocol>({ url, heartbeat: false });
    disposer.add(() => client.dispose());
    const Provider = withClient(client);
    render(
      <Provider>
        <Talk />
      </Provider>,
    );
    await waitFor(() => expect(client.state.status).toBe('connected'), WAIT);
    fireEvent.click(screen.getByText('Talk'));
    await waitFor(() => expect(fakes.nodes).toHaveLength(1), WAIT);
    act(() => {
      for (let f = 0; f < 25; f++)
        fakes.nodes[0]!.emit(1 + f * 0.02, new Float32Array(960).fill(0.25));
    });
    await waitFor(() => expect(audio.length).toBeGreaterThanOrEqual(23), WAIT);
    expect(audio[0]).toMatchObject({ sampleRate: 16_000, seq: 0 });
    expect(audio[0]!.samples).toBeInstanceOf(Int16Array);
    fireEvent.click(screen.getByText('Stop'));
    const stream = (await fakes.getUserMedia.mock.results[0]!.value) as {
      track: { stop: jest.Mock };
    };
    expect(stream.track.stop).toHaveBeenCalledTimes(1);
    await waitFor(() =>
      expect(screen.getByText(/^\d+ frames sent, 0 dropped offline$/)).toBeTruthy(),
    );
  });

  it('Online: the latest presence, its history, and the title set without a render', async () => {
    const { server, url } = await chatServer();
    const client = createClient<ChatProtocol>({ url, heartbeat: false });
    disposer.add(() => client.dispose());
    const Provider = withClient(client);
    const { container } = render(
      <Provider>
        <Online />
      </Provider>,
    );
    await waitFor(() => expect(client.state.status).toBe('connected'), WAIT);
    expect(container.textContent).toBe('–');
    for (const online of [3, 4, 5]) server.broadcast('presence', { online });
    await waitFor(() => expect(container.textContent).toBe('5'), WAIT);
    expect(document.title).toBe('5 online');
    await waitFor(() => expect(container.querySelector('span')!.title).toBe('3 → 4 → 5'), WAIT);
  });
});

describe('README: connection state in a store of your own', () => {
  /** A tiny store with Zustand's shape: getState, setState(partial), subscribe. */
  function createStore<S extends object>(initial: S) {
    let state = initial;
    const listeners = new Set<() => void>();
    return {
      getState: () => state,
      setState(partial: Partial<S>) {
        state = { ...state, ...partial };
        listeners.forEach((listener) => listener());
      },
      subscribe(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }

  it('Zustand-style: one state$.subscribe keeps the store current', async () => {
    const { client } = fakeClient();
    const store = createStore({ connection: client.state, cart: [] as string[] });
    const seen: ConnectionState[] = [];
    store.subscribe(() => seen.push(store.getState().connection));

    // #region readme-react-store-zustand
    // Zustand: const store = create(() => ({ connection: client.state, cart: [] }));
    const subscription = client.state$.subscribe((connection) => store.setState({ connection }));
    // #endregion

    client.connect();
    await waitFor(() => expect(store.getState().connection.status).toBe('connected'), WAIT);
    expect(store.getState().connection).toBe(client.state); // the same frozen object
    expect(seen.map((s) => s.status)).toEqual(['idle', 'connecting', 'connected']);
    subscription.unsubscribe();
    client.disconnect();
    await waitFor(() => expect(client.state.status).toBe('disconnected'), WAIT);
    expect(store.getState().connection.status).toBe('connected'); // no longer followed
    client.dispose();
  });

  it('Redux-style: the same subscription dispatches to a reducer', async () => {
    const { client } = fakeClient();
    type Action = { type: 'connection/changed'; payload: ConnectionState };
    const reducer = (state: { connection?: ConnectionState }, action: Action) =>
      action.type === 'connection/changed' ? { ...state, connection: action.payload } : state;
    let state: { connection?: ConnectionState } = {};
    const store = { dispatch: (action: Action) => (state = reducer(state, action)) };

    // #region readme-react-store-redux
    // Redux: a slice whose reducer stores the payload.
    const subscription = client.state$.subscribe((connection) =>
      store.dispatch({ type: 'connection/changed', payload: connection }),
    );
    // #endregion

    client.connect();
    await waitFor(() => expect(state.connection?.status).toBe('connected'), WAIT);
    subscription.unsubscribe();
    client.dispose();
  });
});
