// The React demo page: the plain page's panels (status, sign-in, chat,
// microphone, presence, outage, connection events) on rxwire/react. One
// <RxwireProvider options> owns the client; every panel reads it through the
// hooks. Only the public API of `rxwire` and `rxwire/react` is used.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ConnectionState } from '../../src/index.js';
import {
  ConnectionStatus,
  RxwireProvider,
  useConnectionState,
  useLatestMessage,
  useRxwire,
} from '../../src/react/index.js';
import { backoffLine, describeChange, explain, transportLabel } from '../web/explain.js';
import { Chat } from './chat.js';
import { Microphone } from './microphone.js';
import './register.js';
import { DemoAuth, readSettings, requestOutage, ttlParam } from '../web/settings.js';

const time = (): string => new Date().toLocaleTimeString([], { hour12: false });

/** Appends `line` to a log, keeping the last `keep` lines. */
const append =
  (line: string, keep = 14) =>
  (lines: string[]) =>
    [...lines, `${time()} ${line}`].slice(-keep);

export function App({ search }: { search: string }) {
  // Read once: the provider reads its options once, on its first render.
  const [{ auth, settings }] = useState(() => {
    const auth = new DemoAuth(ttlParam(search));
    return { auth, settings: readSettings(search, auth) };
  });
  const [signedOut, setSignedOut] = useState(false);
  return (
    <RxwireProvider options={settings.options}>
      <Header />
      <Problem signedOut={signedOut} />
      <main>
        <SignIn auth={auth} initialName={settings.name} onSignedOut={setSignedOut} />
        <Chat />
        <Microphone />
        <Presence />
        <Outage />
        <Events />
      </main>
    </RxwireProvider>
  );
}

/** The status header: <ConnectionStatus /> (tone, label, latency, "Retry n/max", Retry), then transport and backoff. */
function Header() {
  const state = useConnectionState();
  const client = useRxwire();
  const waiting = state.retryAt !== undefined;
  const [, tick] = useState(0);
  useEffect(() => {
    if (!waiting) return;
    // The countdown: a render every 100 ms while waiting to retry.
    const timer = setInterval(() => tick((n) => n + 1), 100);
    return () => clearInterval(timer);
  }, [waiting]);
  // For poking around in the devtools console (and for the browser tests).
  useEffect(() => void Object.assign(window, { rxwireDemo: { client } }), [client]);
  return (
    <header>
      <h1>
        rxwire <span className="sub">React demo</span>
      </h1>
      <ConnectionStatus className="conn" />
      <span id="transport">
        {state.status === 'connected' ? transportLabel[state.transport] : ''}
      </span>
      <span id="backoff">{backoffLine(state, Date.now())}</span>
    </header>
  );
}

/** What went wrong, and what to do about it. */
function Problem({ signedOut }: { signedOut: boolean }) {
  const state = useConnectionState();
  const text = explain(state, signedOut);
  if (text === undefined) return null;
  return (
    <p id="problem" className="problem" aria-live="polite" data-code={state.error?.code ?? ''}>
      {text}
    </p>
  );
}

function SignIn(props: {
  auth: DemoAuth;
  initialName: string | undefined;
  onSignedOut: (signedOut: boolean) => void;
}) {
  const { auth, initialName, onSignedOut } = props;
  const client = useRxwire();
  const [name, setName] = useState(initialName ?? '');
  const [who, setWho] = useState<string | undefined>();
  const [log, setLog] = useState<string[]>([]);
  useEffect(() => {
    const subscription = auth.log$.subscribe((line) => setLog(append(line)));
    return () => subscription.unsubscribe();
  }, [auth]);

  /** Connects as `as`, or as this tab's guest when `as` is blank; someone else starts a new session. */
  const signIn = (as: string) => {
    const previous = auth.name;
    auth.name = as.trim().slice(0, 40) || undefined;
    setWho(auth.name ?? auth.guest);
    onSignedOut(false);
    const { status } = client.state;
    if (status === 'idle' || status === 'disconnected') {
      client.connect();
    } else if (auth.name !== previous && status !== 'error') {
      // Someone else now: end this session (a resume as another user is refused
      // with 4403) and connect afresh; connect() right after disconnect() ends connected.
      client.disconnect(1000, 'signing in as someone else');
      client.connect();
    } else {
      client.reconnect(); // out of 'error', or the same name again: start over with a fresh token
    }
  };
  // Connected from the first moment: as ?name= when given, else as a guest. The
  // ref outlives StrictMode's second run of this effect.
  const opened = useRef(false);
  useEffect(() => {
    if (opened.current) return;
    opened.current = true;
    signIn(initialName ?? '');
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn(name);
  };
  const signOut = () => {
    auth.name = undefined;
    setWho(undefined);
    onSignedOut(true);
    client.disconnect(1000, 'signed out');
  };
  const expire = () => {
    // The next token() call gets an expired token: the server closes 4401, and the
    // client calls token() again at once for a fresh one, without asking the user.
    auth.expireNext = true;
    client.reconnect();
  };
  return (
    <section id="signin">
      <h2>Sign in</h2>
      <form id="signin-form" onSubmit={submit}>
        <label>
          Name{' '}
          <input
            id="name"
            autoComplete="nickname"
            placeholder="ada"
            maxLength={40}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>{' '}
        <button id="signin-button" type="submit">
          Sign in
        </button>{' '}
        <button id="signout" type="button" disabled={who === undefined} onClick={signOut}>
          Sign out
        </button>
      </form>
      <p id="who" className="muted">
        {who === undefined
          ? 'Signed out. Sign in (a blank name is a guest) to connect again.'
          : who === auth.guest
            ? `You are ${who}, a guest: sign in to take a name. Each connection attempt fetches a fresh token.`
            : `Signed in as ${who}. Each connection attempt fetches a fresh token.`}
      </p>
      <p>
        <button id="expire-token" type="button" disabled={who === undefined} onClick={expire}>
          Use an expired token
        </button>{' '}
        <span className="muted">
          reconnects with an already expired token: the server closes 4401 and the client retries at
          once with a fresh one.
        </span>
      </p>
      <ol id="auth-log" className="log">
        {log.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
    </section>
  );
}

function Presence() {
  const presence = useLatestMessage('presence');
  // Offline, the last count is stale: show none until the server's next broadcast.
  const connected = useConnectionState((s) => s.status === 'connected');
  const online = connected ? presence?.online : undefined;
  return (
    <section id="presence">
      <h2>Presence</h2>
      <p>
        <strong id="online">{online ?? ''}</strong>{' '}
        <span id="online-label">
          {!connected
            ? 'offline: the count comes back with the connection'
            : online === undefined
              ? 'waiting for the server’s count'
              : online === 1
                ? 'session connected'
                : 'sessions connected'}
        </span>{' '}
        <span className="muted">(broadcast by the server when a session joins or leaves)</span>
      </p>
    </section>
  );
}

function Outage() {
  const [seconds, setSeconds] = useState(5);
  const [result, setResult] = useState('');
  const outage = async (body: object) => setResult(await requestOutage(body));
  return (
    <section id="outage">
      <h2>Outage</h2>
      <p>
        <button id="outage-drop" type="button" onClick={() => void outage({ mode: 'drop' })}>
          Drop all connections
        </button>{' '}
        <span className="muted">
          closes every session with 1012; clients come back after a backoff.
        </span>
      </p>
      <p>
        <button
          id="outage-refuse"
          type="button"
          onClick={() => void outage({ mode: 'refuse', seconds })}
        >
          Refuse connections
        </button>{' '}
        for{' '}
        <input
          id="outage-seconds"
          type="number"
          min={1}
          max={120}
          size={3}
          value={seconds}
          onChange={(e) => setSeconds(Number(e.target.value) || 5)}
        />{' '}
        s{' '}
        <span className="muted">
          closes every session with 1013 and answers upgrades with 503 meanwhile; watch the
          attempts, and send a chat message: it waits in the queue.
        </span>
      </p>
      <p id="outage-result" className="muted">
        {result}
      </p>
    </section>
  );
}

/** One line per change of status, close or transport, from client.state$. */
function Events() {
  const client = useRxwire();
  const [lines, setLines] = useState<string[]>([]);
  // Kept across StrictMode's second subscription, whose replay of the current state is no change.
  const previous = useRef<ConnectionState | undefined>(undefined);
  useEffect(() => {
    const subscription = client.state$.subscribe((state) => {
      for (const { text } of describeChange(previous.current, state)) setLines(append(text));
      previous.current = state;
    });
    return () => subscription.unsubscribe();
  }, [client]);
  return (
    <section id="events">
      <h2>Connection events</h2>
      <ol id="event-log" className="log">
        {lines.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
    </section>
  );
}
