// The chaos run shared by spec/e2e/chaos.spec.ts and `npm run chaos`: N rxwire
// clients and one rxwire server exchange numbered messages both ways through
// the fault proxy, which cuts, stalls and delays connections on a seeded
// random schedule. Every receiver checks that each number arrives exactly
// once and in order; the report says what was lost, repeated or reordered.
import { WebSocket } from 'ws';
import { createClient, type Client, type WebSocketConstructor } from '../../src/index.js';
import { QueueFullError, type Protocol } from '../../src/protocol/index.js';
import { createServer, type Session } from '../../server/index.js';
import { startFaultProxy } from './fault-proxy.js';
import { pace, Tally } from './tally.js';

interface ChaosApi extends Protocol {
  client: { up: { n: number; t: number } };
  server: { down: { n: number; t: number } };
}

export interface ChaosOptions {
  seed: number;
  clients: number;
  /** Messages each way per client; with `durationMs`, the most (sending stops at whichever comes first). */
  messages: number;
  /** Stop sending after this long (a soak). @default none */
  durationMs?: number;
  /** Messages per second each client (and the server, to each client) sends. @default 250 */
  rate?: number;
  /** Give up waiting for delivery this long after sending ended. @default 60_000 */
  settleMs?: number;
  /** Progress lines (the soak prints them). @default none */
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  clients: number;
  seconds: number;
  sent: { up: number; down: number };
  received: { up: number; down: number };
  /** Must be 0: numbers skipped, or delivered twice to the app. */
  lost: number;
  repeated: number;
  faults: { cuts: number; stalls: number; delays: number };
  reconnects: number;
  /** The fewest reconnects any one client made. */
  minReconnects: number;
  resumes: number;
  /** Server sends refused with QueueFullError (the client away too long), retried later. */
  backpressured: number;
  /** Times a client's session changed (a resume that failed). Must be 0. */
  extraSessions: number;
  /**
   * Sessions whose `$welcome` was lost with their connection, so the client
   * never used them (it got another); they expire after the recovery window.
   */
  orphans: number;
  resent: { client: number; server: number };
  duplicatesDropped: { client: number; server: number };
  delayMs: { p50: number; p99: number; max: number };
  heapMiB: { start: number; end: number };
  /** Problems, empty when the run passed. */
  problems: string[];
  /** What the server and clients reported along the way (first 40 lines). */
  notes: string[];
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = (): number => {
  gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const notes: string[] = [];
  const note = (line: string): void => {
    if (notes.length < 40) notes.push(line);
  };
  const { seed, clients: count, messages } = options;
  const rate = options.rate ?? 250;
  const log = options.log ?? (() => undefined);
  const heapStart = heapMiB();

  const server = createServer<ChaosApi, { id: string }>({
    port: 0,
    host: '127.0.0.1',
    rateLimit: false,
    heartbeat: { interval: 1_000, timeout: 1_000 },
    authenticate: (token) => ({ id: token ?? 'anonymous' }),
    // Warnings explain a failed run (why a session ended, a protocol error).
    logger: {
      warn: (message, context) => note(`server warn: ${message} ${JSON.stringify(context ?? {})}`),
      error: (message, context) =>
        note(`server error: ${message} ${JSON.stringify(context ?? {})}`),
    },
  });
  const { port } = await server.ready();
  const proxy = await startFaultProxy({
    target: { port },
    seed,
    minIntervalMs: 200,
    maxIntervalMs: 2_000,
    // Longer than the client heartbeat's interval + timeout, so stalls trip it.
    stallMs: 1_200,
  });

  const started = Date.now();
  const sendUntil = options.durationMs !== undefined ? started + options.durationMs : Infinity;
  // A histogram in 1 ms buckets (the last one: ≥ 60 s), so a long soak's heap is the library's, not ours.
  const delays = new Uint32Array(60_001);
  const delayed = (t: number): void => {
    delays[Math.min(60_000, Math.max(0, Date.now() - t))]!++;
  };
  const upTally = Array.from({ length: count }, () => new Tally());
  const downTally = Array.from({ length: count }, () => new Tally());
  const sentDown = new Array<number>(count).fill(0);
  const serverSessions: Session<ChaosApi, { id: string }>[] = [];
  const timers: Array<ReturnType<typeof setInterval>> = [];
  let stopping = false;
  let backpressured = 0;

  // Server: count what arrives, and send each client its own numbered stream.
  // A session counts as the client's once a message from the client arrives on
  // it. A session whose $welcome was lost with its connection never does (the
  // client retries without it and gets another); it is an orphan that expires
  // after the recovery window, not a failed resume. A client whose active
  // session changes did see a failed resume: that is reported.
  const active = new Array<Session<ChaosApi, { id: string }> | null>(count).fill(null);
  let orphans = 0;
  const activate = (i: number, session: Session<ChaosApi, { id: string }>): void => {
    const previous = active[i] ?? null;
    if (previous === session) return;
    active[i] = session;
    if (previous !== null) {
      switches[i]!++;
      note(`client ${i} moved from session ${previous.id} to ${session.id}`);
      return;
    }
    const timer = pace(rate, (k) => {
      for (let j = 0; j < k; j++) {
        const current = active[i]!;
        if (sentDown[i]! >= messages || Date.now() >= sendUntil || current.state !== 'open') {
          clearInterval(timer);
          return;
        }
        try {
          current.send('down', { n: sentDown[i]!, t: Date.now() });
        } catch (error) {
          // The client has been away long enough to fill maxUnacked: back off, as an app would.
          if (!(error instanceof QueueFullError)) throw error;
          backpressured++;
          return;
        }
        sentDown[i]!++;
      }
    });
    timers.push(timer);
  };
  const switches = new Array<number>(count).fill(0);
  server.sessions$.subscribe((session) => {
    const i = Number(session.user.id);
    serverSessions.push(session);
    session.closed$.subscribe((close) => {
      if (!stopping && active[i] === session) {
        note(`session of client ${i} ended mid-run: ${JSON.stringify(close)}`);
      }
    });
    session.on('up').subscribe(({ n, t }) => {
      activate(i, session);
      upTally[i]!.take(n);
      delayed(t);
    });
  });

  // Clients.
  const clients: Client<ChaosApi>[] = [];
  const sentUp = new Array<number>(count).fill(0);
  const connects = new Array<number>(count).fill(0);
  let resumes = 0;
  for (let i = 0; i < count; i++) {
    const client = createClient<ChaosApi>({
      url: `${proxy.url}/ws`,
      WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
      token: String(i),
      reconnect: { initialDelay: 50, maxDelay: 500, maxAttempts: 1_000 },
      heartbeat: { interval: 400, timeout: 400 },
      connectTimeout: 3_000,
      queue: { limit: 1_000_000, overflow: 'error' },
    });
    clients.push(client);
    client.sessions$.subscribe((s) => {
      connects[i]!++;
      if (s.resumed) resumes++;
      else if (s.previousSessionId) note(`client ${i} got a new session (${s.sessionId})`);
    });
    client.state$.subscribe((s) => {
      if (s.status === 'error') note(`client ${i} stopped: ${s.error?.code} ${s.error?.message}`);
    });
    client.errors$.subscribe((e) => note(`client ${i} error: ${e.code} ${e.message}`));
    client.on('down').subscribe(({ n, t }) => {
      downTally[i]!.take(n);
      delayed(t);
    });
    const timer = pace(rate, (k) => {
      for (let j = 0; j < k; j++) {
        if (sentUp[i]! >= messages || Date.now() >= sendUntil) {
          clearInterval(timer);
          return;
        }
        client.send('up', { n: sentUp[i]!, t: Date.now() });
        sentUp[i]!++;
      }
    });
    timers.push(timer);
  }
  proxy.start();

  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const delivered = () =>
    upTally.every((t, i) => t.next === sentUp[i]) &&
    downTally.every((t, i) => t.next === sentDown[i]);
  const sendingDone = () =>
    (sentUp.every((n) => n >= messages) && sentDown.every((n) => n >= messages)) ||
    Date.now() >= sendUntil;
  const everyoneReconnected = () => connects.every((c) => c >= 2);

  let lastLog = Date.now();
  let settleDeadline = Infinity;
  for (;;) {
    await sleep(50);
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      log(
        `${Math.round((Date.now() - started) / 1000)} s: up ${sum(upTally.map((t) => t.received))}/${sum(sentUp)}, ` +
          `down ${sum(downTally.map((t) => t.received))}/${sum(sentDown)}, reconnects ${sum(connects) - count}, ` +
          `faults ${proxy.history.length}, heap ${heapMiB()} MiB`,
      );
    }
    if (!sendingDone()) continue;
    if (settleDeadline === Infinity) settleDeadline = Date.now() + (options.settleMs ?? 60_000);
    if (delivered() && everyoneReconnected()) break;
    if (Date.now() > settleDeadline) break;
  }
  stopping = true;
  orphans = serverSessions.filter((s) => !active.includes(s)).length;
  proxy.stop();
  for (const timer of timers) clearInterval(timer);

  const seconds = (Date.now() - started) / 1000;
  const samples = delays.reduce((a, b) => a + b, 0);
  const at = (q: number): number => {
    let seen = 0;
    for (let ms = 0; ms < delays.length; ms++) {
      seen += delays[ms]!;
      if (seen > q * samples) return ms;
    }
    return 0;
  };
  const report: ChaosReport = {
    seed,
    clients: count,
    seconds: Math.round(seconds * 10) / 10,
    sent: { up: sum(sentUp), down: sum(sentDown) },
    received: {
      up: sum(upTally.map((t) => t.received)),
      down: sum(downTally.map((t) => t.received)),
    },
    lost:
      sum(upTally.map((t, i) => t.lost + (sentUp[i]! - t.next))) +
      sum(downTally.map((t, i) => t.lost + (sentDown[i]! - t.next))),
    repeated: sum(upTally.map((t) => t.repeated)) + sum(downTally.map((t) => t.repeated)),
    faults: { cuts: proxy.stats.cuts, stalls: proxy.stats.stalls, delays: proxy.stats.delays },
    reconnects: sum(connects) - count,
    minReconnects: Math.min(...connects) - 1,
    resumes,
    backpressured,
    extraSessions: sum(switches),
    orphans,
    resent: {
      client: sum(clients.map((c) => c.state.resent)),
      server: sum(serverSessions.map((s) => s.delivery.resent)),
    },
    duplicatesDropped: {
      client: sum(clients.map((c) => c.state.duplicates)),
      server: sum(serverSessions.map((s) => s.delivery.duplicates)),
    },
    delayMs: { p50: at(0.5), p99: at(0.99), max: lastNonZero(delays) },
    heapMiB: { start: heapStart, end: 0 },
    problems: [],
    notes,
  };
  const problems = report.problems;
  if (report.lost > 0) problems.push(`${report.lost} messages lost`);
  if (report.repeated > 0) problems.push(`${report.repeated} messages delivered twice`);
  if (report.extraSessions > 0) problems.push(`${report.extraSessions} sessions emitted again`);
  if (report.minReconnects < 1) problems.push('a client never reconnected');
  const cleanupProblem = (): void => {
    for (const line of notes) if (line.includes('did not finish')) problems.push(line);
  };

  for (const client of clients) client.dispose();
  // Each step is bounded, so a hang says where it is instead of stalling the run.
  await step('server.close()', server.close(), note);
  await step('proxy.close()', proxy.close(), note);
  report.heapMiB.end = heapMiB();
  cleanupProblem();
  return report;
}

async function step(what: string, done: Promise<void>, note: (line: string) => void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 30_000);
  });
  const result = await Promise.race([done.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') note(`${what} did not finish within 30 s`);
}

function lastNonZero(counts: Uint32Array): number {
  for (let i = counts.length - 1; i >= 0; i--) if (counts[i]! > 0) return i;
  return 0;
}

/** The report as a few readable lines. */
export function formatChaos(r: ChaosReport): string {
  return [
    `chaos: seed ${r.seed}, ${r.clients} clients, ${r.seconds} s`,
    `  messages: up ${r.received.up}/${r.sent.up}, down ${r.received.down}/${r.sent.down}; lost ${r.lost}, delivered twice ${r.repeated}`,
    `  faults injected: ${r.faults.cuts} cuts, ${r.faults.stalls} stalls, ${r.faults.delays} delays (per connection)`,
    `  reconnects ${r.reconnects} (every client ≥ ${r.minReconnects}), resumes ${r.resumes}, sessions emitted again ${r.extraSessions}`,
    `  orphaned sessions (their $welcome was lost, the client never used them): ${r.orphans}`,
    `  server sends refused over maxUnacked (retried): ${r.backpressured}`,
    `  resent: client ${r.resent.client}, server ${r.resent.server}; duplicates dropped: client ${r.duplicatesDropped.client}, server ${r.duplicatesDropped.server}`,
    `  delivery delay: p50 ${r.delayMs.p50} ms, p99 ${r.delayMs.p99} ms, max ${r.delayMs.max} ms`,
    `  heap: ${r.heapMiB.start} MiB at start, ${r.heapMiB.end} MiB at end`,
    r.problems.length === 0 ? '  OK' : `  FAILED: ${r.problems.join('; ')}`,
    ...(r.problems.length === 0 ? [] : r.notes.map((n) => `    ${n}`)),
  ].join('\n');
}
