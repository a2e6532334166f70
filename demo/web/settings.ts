// What both demo pages (demo/web/main.ts and the React page, demo/react/)
// read from the query string, the `token` function that signs in through
// POST /demo/login before every connection attempt, and the outage buttons'
// request.
//
//   ?name=ada          connect as "ada" instead of a guest
//   ?maxAttempts=2     reconnect.maxAttempts (default 5)
//   ?baseDelay=200     reconnect.initialDelay in ms (default 1000)
//   ?maxDelay=5000     reconnect.maxDelay in ms (default 30000)
//   ?jitter=0          reconnect.jitter (default 0.5)
//   ?ttl=60            lifetime of the demo tokens, in seconds (default: the server's 15 min)
//   ?transports=websocket,http   the client's transports (default websocket)
//   ?fallbackAfter=2   failed WebSocket attempts before moving to HTTP (default 2)
//   ?probeInterval=30000   ms between WebSocket probes while on HTTP (default 30000)
import { Subject } from 'rxjs';
import type { ClientOptions } from '../../src/index.js';
import type { DemoProtocol, LoginResponse } from '../protocol.js';

export interface Settings {
  /** Connect as this name when the page opens (a guest when undefined). */
  name: string | undefined;
  options: ClientOptions<DemoProtocol['server']>;
}

/** Who the token function signs in as, and what it reports. */
export class DemoAuth {
  /** Who this tab is until the user signs in: each tab is a guest of its own (and resumes only its own session). */
  readonly guest = `guest-${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
  /** The name signed in with; undefined while a guest. */
  name: string | undefined;
  /** Set by "Use an expired token": the next token comes already expired. */
  expireNext = false;
  private issued = 0;
  private readonly lines = new Subject<string>();
  /** One line per token fetched, for the sign-in panel's log. */
  readonly log$ = this.lines.asObservable();

  constructor(private readonly ttl: number | undefined) {}

  /** The client's `token` option: a fresh demo JWT before every connection attempt. */
  readonly token = async (): Promise<string> => {
    const n = ++this.issued;
    const lifetime = this.expireNext ? 0 : this.ttl;
    this.expireNext = false;
    const response = await fetch('/demo/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: this.name ?? this.guest,
        ...(lifetime !== undefined ? { ttl: lifetime } : {}),
      }),
    });
    if (!response.ok) throw new Error(`POST /demo/login answered ${response.status}`);
    const { token, expiresIn } = (await response.json()) as LoginResponse;
    this.lines.next(
      expiresIn <= 0
        ? `token #${n}: already expired (on purpose)`
        : `token #${n}: valid for ${expiresIn} s`,
    );
    return token;
  };
}

/** Reads the query string: the client's options, and whom to sign in as. */
export function readSettings(search: string, auth: DemoAuth): Settings {
  const params = new URLSearchParams(search);
  const numberParam = (key: string): number | undefined => {
    const raw = params.get(key);
    if (raw === null || raw.trim() === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  };
  const transports = params
    .get('transports')
    ?.split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t): t is 'websocket' | 'http' => t === 'websocket' || t === 'http');
  const fallbackAfter = numberParam('fallbackAfter');
  const probeInterval = numberParam('probeInterval');
  return {
    name: params.get('name') ?? undefined,
    options: {
      // The page connects as it opens, once it knows whom as.
      autoConnect: false,
      ...(transports?.length ? { transports: [...new Set(transports)] } : {}),
      ...(fallbackAfter !== undefined ? { fallbackAfter } : {}),
      ...(probeInterval !== undefined ? { probeInterval } : {}),
      token: auth.token,
      reconnect: {
        initialDelay: numberParam('baseDelay') ?? 1000,
        maxDelay: numberParam('maxDelay') ?? 30_000,
        maxAttempts: numberParam('maxAttempts') ?? 5,
        jitter: numberParam('jitter') ?? 0.5,
      },
      // Pings every 5 s so the latency shown stays fresh.
      heartbeat: { interval: 5_000, timeout: 5_000 },
    },
  };
}

/** The `ttl` query parameter (seconds), if given. */
export function ttlParam(search: string): number | undefined {
  const raw = new URLSearchParams(search).get('ttl');
  const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** Asks the demo server for an outage (drop every connection, or refuse them for a while); resolves with what to show. */
export async function requestOutage(body: object): Promise<string> {
  try {
    const response = await fetch('/demo/outage', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { error?: string; closed?: number };
    const closed = answer.closed ?? 0;
    return response.ok
      ? `The server closed ${closed} session${closed === 1 ? '' : 's'}; watch the header.`
      : `Refused: ${answer.error ?? response.status}`;
  } catch (error) {
    return `The server did not answer: ${String(error)}`;
  }
}
