// The demo page's script (bundled by esbuild at `npm run build`). Plain DOM,
// and only rxwire's public API: the `rxwire` entry (src/index.ts) and
// `rxwire/audio` (src/audio/index.ts). It connects as soon as it loads, as a
// guest with a name of its own, and signing in reconnects under another name.
//
// Query parameters, for trying things (and for the browser tests):
//   ?name=ada          connect as "ada" instead of a guest
//   ?maxAttempts=2     reconnect.maxAttempts (default 5)
//   ?baseDelay=200     reconnect.initialDelay in ms (default 1000)
//   ?maxDelay=5000     reconnect.maxDelay in ms (default 30000)
//   ?jitter=0          reconnect.jitter (default 0.5)
//   ?ttl=60            lifetime of the demo tokens, in seconds (default: the server's 15 min)
//   ?transports=websocket,http   the client's transports (default websocket; http alone, or
//                      websocket first and the HTTP fallback after failed upgrades)
//   ?fallbackAfter=2   failed WebSocket attempts before moving to HTTP (default 2)
//   ?probeInterval=30000   ms between WebSocket probes while on HTTP (default 30000)
// (read by settings.ts, which the React page shares)
import {
  asapScheduler,
  auditTime,
  distinctUntilChanged,
  first,
  map,
  observeOn,
  share,
  type Subscription,
} from 'rxjs';
import { createClient, type ConnectionState } from '../../src/index.js';
import { fromMicrophone, frames, level, resample, toPcm16 } from '../../src/audio/index.js';
import type { AudioView, DemoProtocol } from '../protocol.js';
import type { DemoDebug } from '../server.js';
import {
  backoffLine,
  describeChange,
  explain,
  isBareAbnormal,
  micAdvice,
  refusedBy,
  requestAdvice,
  statusLabel,
  transportLabel,
} from './explain.js';
import { DemoAuth, readSettings, requestOutage, ttlParam } from './settings.js';

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

const time = (): string => new Date().toLocaleTimeString([], { hour12: false });

/** Appends a line to a log list, newest last, keeping the last `keep`; returns it. */
function logTo(list: HTMLElement, text: string, keep = 14): HTMLElement {
  const item = document.createElement('li');
  item.textContent = `${time()} ${text}`;
  list.append(item);
  while (list.children.length > keep) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
  return item;
}

// ---- the client ------------------------------------------------------------

const auth = new DemoAuth(ttlParam(location.search));
auth.log$.subscribe((line) => logTo($('auth-log'), line));
/** Signed out: no connection until the user signs in again. */
let signedOut = false;

const client = createClient<DemoProtocol>(readSettings(location.search, auth).options);
// For poking around in the devtools console.
Object.assign(window, { rxwireDemo: { client } });

// ---- header: status, latency, backoff, retry, what went wrong ----------------

const conn = $('conn');
const label = $('status-label');
const latency = $('latency');
const transport = $('transport');
const backoff = $('backoff');
const retry = $<HTMLButtonElement>('retry');
const problem = $('problem');
let countdown: ReturnType<typeof setInterval> | undefined;

function renderBackoff(): void {
  backoff.textContent = backoffLine(client.state, Date.now());
}

function renderState(state: ConnectionState): void {
  conn.dataset.status = state.status;
  if (label.textContent !== statusLabel[state.status])
    label.textContent = statusLabel[state.status];
  latency.textContent =
    state.status === 'connected' && state.latencyMs !== undefined
      ? `${Math.round(state.latencyMs)} ms`
      : '';
  // Which transport carries the connection (or the next attempt, while trying).
  transport.dataset.transport = state.transport;
  transport.textContent = state.status === 'connected' ? transportLabel[state.transport] : '';
  renderBackoff();
  if (state.retryAt !== undefined && countdown === undefined) {
    countdown = setInterval(renderBackoff, 100);
  } else if (state.retryAt === undefined && countdown !== undefined) {
    clearInterval(countdown);
    countdown = undefined;
  }
  retry.hidden = !(state.status === 'disconnected' || state.status === 'error');
  const text = explain(state, signedOut);
  problem.hidden = text === undefined;
  problem.textContent = text ?? '';
  problem.dataset.code = state.error?.code ?? '';
  $('queued').textContent =
    state.queued > 0
      ? `${state.queued} message${state.queued === 1 ? '' : 's'} queued until the connection is back`
      : '';
  $<HTMLButtonElement>('expire-token').disabled = signedOut;
}

/** One line per change of status or close, in the event log. */
let previous: ConnectionState | undefined;
function logState(state: ConnectionState): void {
  const events = $('event-log');
  for (const { text, close } of describeChange(previous, state)) {
    const item = logTo(events, text);
    if (close !== undefined && isBareAbnormal(close))
      void explainAbnormal(item, previous?.transport);
  }
  previous = state;
}

client.state$.subscribe((state) => {
  renderState(state);
  logState(state);
});

/**
 * A browser reports a refused upgrade as a bare 1006 (the WebSocket API hides
 * the HTTP status that Node's ws gives as `lastClose.httpStatus`). This page
 * knows its server: when the demo's gate is refusing (503) or blocking
 * WebSocket (403), it says so on the log line.
 */
async function explainAbnormal(item: HTMLElement, transport: string | undefined): Promise<void> {
  try {
    const response = await fetch('/demo/debug', { cache: 'no-store' });
    if (!response.ok) return;
    const status = refusedBy((await response.json()) as DemoDebug, transport);
    if (status !== undefined) item.textContent = item.textContent!.replace(/closed 1006/, status);
  } catch {
    // The server is gone: "closed 1006" is all there is to say.
  }
}
retry.addEventListener('click', () => {
  signedOut = false;
  client.reconnect();
});

// ---- sign in -----------------------------------------------------------------

const nameInput = $<HTMLInputElement>('name');
const signout = $<HTMLButtonElement>('signout');

/** Connects as `who`, or as this tab's guest when `who` is blank; reconnects if connected already. */
function signIn(who: string): void {
  const previousName = auth.name;
  auth.name = who.trim().slice(0, 40) || undefined;
  signedOut = false;
  $('who').textContent = auth.name
    ? `Signed in as ${auth.name}. Each connection attempt fetches a fresh token.`
    : `You are ${auth.guest}, a guest: sign in to take a name. Each connection attempt fetches a fresh token.`;
  signout.disabled = false;
  const { status } = client.state;
  if (status === 'idle' || status === 'disconnected') {
    client.connect();
  } else if (auth.name !== previousName && status !== 'error') {
    // Someone else now: end this session (a resume as another user is refused
    // with 4403) and connect afresh once the close handshake is done, from a
    // task of its own rather than from inside the client's state$ emission.
    client.state$
      .pipe(
        first(({ status: s }) => s === 'disconnected'),
        observeOn(asapScheduler),
      )
      .subscribe(() => client.connect());
    client.disconnect(1000, 'signing in as someone else');
  } else {
    client.reconnect(); // out of 'error', or the same name again: start over with a fresh token
  }
  renderState(client.state);
}

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(nameInput.value);
});
signout.addEventListener('click', () => {
  signedOut = true;
  auth.name = undefined;
  signout.disabled = true;
  $('who').textContent = 'Signed out. Sign in (a blank name is a guest) to connect again.';
  client.disconnect(1000, 'signed out');
});
$('expire-token').addEventListener('click', () => {
  // The next token() call gets an expired token: the server closes 4401, and the
  // client calls token() again at once for a fresh one, without asking the user.
  auth.expireNext = true;
  client.reconnect();
});

// Connected from the first moment: as ?name= when given, else as a guest.
const initialName = new URLSearchParams(location.search).get('name') ?? '';
nameInput.value = initialName;
signIn(initialName);

// ---- chat: a request stream with a Stop button ---------------------------------

const chatLog = $('chat-log');
const chatText = $<HTMLInputElement>('chat-text');
const stop = $<HTMLButtonElement>('chat-stop');
let reply: { subscription: Subscription; item: HTMLElement } | undefined;

function bubble(kind: 'me' | 'bot', text: string): HTMLElement {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = text;
  chatLog.append(item);
  chatLog.scrollTop = chatLog.scrollHeight;
  return item;
}

function note(item: HTMLElement, text: string): void {
  const span = document.createElement('span');
  span.className = 'note';
  span.textContent = text;
  item.append(span);
}

function stopReply(): void {
  if (!reply) return;
  reply.subscription.unsubscribe(); // sends $cancel: the server unsubscribes its handler
  reply.item.dataset.state = 'stopped';
  note(reply.item, 'stopped: $cancel sent, the server stopped the handler');
  reply = undefined;
  stop.disabled = true;
}

$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = chatText.value.trim();
  if (!text) return;
  stopReply();
  bubble('me', text);
  const item = bubble('bot', '');
  item.dataset.state = 'waiting';
  if (client.state.status !== 'connected')
    note(item, 'queued: goes out when the connection is back');
  const done = (state: string, why?: string): void => {
    item.dataset.state = state;
    if (why) note(item, why);
    if (reply?.item === item) {
      reply = undefined;
      stop.disabled = true;
    }
  };
  stop.disabled = false;
  reply = { item, subscription: undefined as unknown as Subscription };
  reply.subscription = client.request('chat', { text }).subscribe({
    next: ({ token }) => {
      item.querySelector('.note')?.remove();
      const span = document.createElement('span');
      span.className = 'tok';
      span.textContent = token;
      item.append(span);
      item.dataset.state = 'streaming';
      chatLog.scrollTop = chatLog.scrollHeight;
    },
    complete: () => done('complete'),
    error: (error: unknown) => done('error', requestAdvice(error)),
  });
  chatText.value = '';
});
stop.addEventListener('click', stopReply);

// ---- microphone: audio operators into client.audio -------------------------------

const micStart = $<HTMLButtonElement>('mic-start');
const micStop = $<HTMLButtonElement>('mic-stop');
const micError = $('mic-error');
const levelBar = $('level-bar');
const levelDb = $('level-db');
let mic: Subscription | undefined;
let streamId = 0;

function stopMic(): void {
  mic?.unsubscribe(); // stops the tracks and closes the AudioContext
  mic = undefined;
  micStart.disabled = false;
  micStop.disabled = true;
  levelBar.style.width = '0';
  levelDb.textContent = '–';
  delete levelDb.dataset.db;
}

micStart.addEventListener('click', () => {
  if (mic) return;
  micError.hidden = true;
  const id = ++streamId; // a new stream per Start: the server counts sequence numbers per stream
  const frames$ = fromMicrophone().pipe(
    resample(16000),
    toPcm16(),
    frames(20),
    map((chunk) => ({ ...chunk, streamId: id })),
    share(),
  );
  const fail = (error: unknown): void => {
    stopMic();
    micError.hidden = false;
    micError.textContent = micAdvice(error);
  };
  mic = frames$.subscribe({
    // Real-time: while offline the client drops these (counted below), never queues them.
    next: (chunk) => client.audio.next(chunk),
    error: fail,
    complete: () => fail(new Error('the microphone stopped (track ended)')),
  });
  mic.add(
    frames$.pipe(level(), auditTime(50)).subscribe({
      next: ({ rms }) => {
        const percent = Math.max(0, Math.min(100, ((rms + 60) / 60) * 100));
        levelBar.style.width = `${percent.toFixed(0)}%`;
        levelDb.textContent = `${rms.toFixed(1)} dBFS`;
        levelDb.dataset.db = rms.toFixed(1);
      },
      error: () => undefined, // reported by the subscription above
    }),
  );
  micStart.disabled = true;
  micStop.disabled = false;
});
micStop.addEventListener('click', stopMic);

function renderView(view: AudioView): void {
  $('view-stream').textContent = `#${view.streamId} at ${view.sampleRate} Hz`;
  $('view-seconds').textContent = view.seconds.toFixed(1);
  $('view-frames').textContent = String(view.frames);
  $('view-fps').textContent = view.framesPerSecond.toFixed(1);
  $('view-lost').textContent = String(view.lost);
  $('view-reordered').textContent = String(view.reordered);
  $('server-view').dataset.view = JSON.stringify(view);
}
client.on('audio_view').subscribe(renderView);
client.audioStats$.pipe(auditTime(250)).subscribe((stats) => {
  $('mic-client').textContent =
    `client: ${stats.sent} frames sent, ${stats.droppedOffline} dropped while offline, ` +
    `${stats.droppedBackpressure} dropped for backpressure`;
});

// ---- presence ------------------------------------------------------------------

client.on('presence').subscribe(({ online }) => {
  $('online').textContent = String(online);
  $('online-label').textContent = online === 1 ? 'session connected' : 'sessions connected';
});
// Offline, the last count is stale: show none until the server's next broadcast
// (it sends one to every session that joins).
client.state$
  .pipe(
    map(({ status }) => status === 'connected'),
    distinctUntilChanged(),
  )
  .subscribe((connected) => {
    if (connected && $('online').textContent !== '') return;
    $('online').textContent = '';
    $('online-label').textContent = connected
      ? 'waiting for the server’s count'
      : 'offline: the count comes back with the connection';
  });

// ---- outage ----------------------------------------------------------------------

async function outage(body: object): Promise<void> {
  $('outage-result').textContent = await requestOutage(body);
}
$('outage-drop').addEventListener('click', () => void outage({ mode: 'drop' }));
$('outage-refuse').addEventListener('click', () => {
  const secondsValue = Number($<HTMLInputElement>('outage-seconds').value) || 5;
  void outage({ mode: 'refuse', seconds: secondsValue });
});
