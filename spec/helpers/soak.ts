// The soak run shared by spec/e2e/soak.spec.ts and `npm run soak`: for N
// minutes, C rxwire clients exchange numbered messages and requests with one
// rxwire server through the fault proxy, which cuts connections on a seeded
// schedule (they resume their sessions); clients also leave at random and new
// ones take their place. Every 10 s it pauses sending until nothing is in
// flight and records RSS, heap (raw and after a forced GC), sessions,
// unacknowledged messages and handles. It fails when anything is lost or
// repeated, or when the heap after GC grows by more than 5 % from the start
// of the measured window to the end (see `heapGrowth`).
import { WebSocket } from 'ws';
import { createClient, type Client, type WebSocketConstructor } from '../../src/index.js';
import { QueueFullError, type Protocol } from '../../src/protocol/index.js';
import { createServer } from '../../server/index.js';
import { mulberry32, startFaultProxy } from './fault-proxy.js';
import { settledHeapFigures } from './server-gc.js';
import { lineChart } from './soak-plot.js';
import { Tally } from './tally.js';

interface SoakApi extends Protocol {
  client: { up: { n: number } };
  server: { down: { n: number } };
  requests: { echo: { request: { n: number }; response: { n: number } } };
}

export interface SoakOptions {
  minutes: number;
  clients: number;
  seed: number;
  /** Messages per second each client sends; the server answers each with one. @default 2 */
  rate?: number;
  /** Time between samples, in ms. @default 10_000 */
  sampleMs?: number;
  /** Share of the clients that leave (and are replaced by new ones) per minute. @default 0.1 */
  churnPerMinute?: number;
  /** How often, on average, each client's connection is cut, per minute. @default 1 */
  dropsPerMinute?: number;
  /** Where the heap growth is measured from, in minutes. @default 2, or half the run when it is shorter than 4 minutes */
  fromMinute?: number;
  log?: (line: string) => void;
}

/** One row of the CSV. */
export interface SoakSample {
  /** Seconds since the start. */
  t: number;
  /** RSS and heapUsed at the sample's start, as the process runs (garbage included). */
  rss: number;
  heapUsed: number;
  /** heapUsed right after a forced full GC: what the growth rule looks at. */
  heapAfterGc: number;
  /** Of it, compiled code (V8's code spaces). */
  code: number;
  sessions: number;
  connected: number;
  /** Messages sent and not acknowledged yet when the heap was measured (sending paused until these drain, at most 3 s): by the server (all sessions), by the clients. */
  unackedServer: number;
  unackedClients: number;
  /** Sockets, servers and timers the process holds. */
  handles: number;
  sent: number;
  received: number;
  reconnects: number;
  resumes: number;
  left: number;
  joined: number;
}

export interface HeapGrowth {
  fromMinute: number;
  /** The fitted line of heapAfterGc over the window (see `heapGrowth`), at its start and at the end, in bytes. */
  from: number;
  to: number;
  percent: number;
  limitPercent: number;
  /** Samples in the window. */
  samples: number;
}

export interface SoakReport {
  minutes: number;
  clients: number;
  seed: number;
  seconds: number;
  samples: SoakSample[];
  growth: HeapGrowth;
  messages: { sent: number; received: number; lost: number; repeated: number };
  requests: { sent: number; failed: number };
  reconnects: number;
  resumes: number;
  /** Clients whose session was not resumed after a drop (a new session): must be 0. */
  sessionsLost: number;
  cuts: number;
  left: number;
  joined: number;
  /** Server sends refused while a client was away too long (retried with the next message). */
  backpressured: number;
  handles: { before: number; after: number };
  problems: string[];
  notes: string[];
}

const MiB = 1_048_576;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Sockets, servers and timers the process holds (stdio pipes, made on first output, left out). */
const COUNTED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate']);
const handleCount = () =>
  process.getActiveResourcesInfo().filter((kind) => COUNTED.has(kind)).length;

/** One client generation in a slot: its tallies live until it has left and been counted. */
interface Member {
  key: string;
  client: Client<SoakApi>;
  sentUp: number;
  down: Tally;
  requests: number;
  pending: number;
  leaving: boolean;
  /** It left and was counted. */
  gone: boolean;
  /** When it started sending (its join time plus a random phase), in ms since the epoch. */
  since: number;
  sessions: number;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { minutes, clients: count, seed } = options;
  const rate = options.rate ?? 2;
  const sampleMs = options.sampleMs ?? 10_000;
  const churn = options.churnPerMinute ?? 0.1;
  const drops = options.dropsPerMinute ?? 1;
  const fromMinute = options.fromMinute ?? (minutes >= 4 ? 2 : minutes / 2);
  const log = options.log ?? (() => undefined);
  const rng = mulberry32(seed ^ 0x5eed);
  const notes: string[] = [];
  const note = (line: string) => {
    if (notes.length < 40) notes.push(line);
  };
  const handlesBefore = handleCount();
  const started = Date.now();

  // The server: answers each `up` with a `down` of its own numbering, and echoes requests.
  const server = createServer<SoakApi, { id: string }>({
    port: 0,
    host: '127.0.0.1',
    authenticate: (token) => ({ id: token ?? 'anonymous' }),
    validate: { up: (p) => typeof (p as { n?: unknown } | null)?.n === 'number' },
    logger: {
      warn: (message, context) => note(`server warn: ${message} ${JSON.stringify(context ?? {})}`),
      error: (message, context) =>
        note(`server error: ${message} ${JSON.stringify(context ?? {})}`),
    },
  });
  const up = new Map<string, Tally>();
  const sentDown = new Map<string, number>();
  let backpressured = 0;
  server.handle('echo', (request) => [request]);
  server.sessions$.subscribe((session) => {
    const key = session.user.id;
    session.on('up').subscribe(({ n }) => {
      up.get(key)?.take(n);
      const next = sentDown.get(key) ?? 0;
      try {
        session.send('down', { n: next });
        sentDown.set(key, next + 1);
      } catch (error) {
        if (!(error instanceof QueueFullError)) throw error;
        backpressured++;
      }
    });
  });
  const { port } = await server.ready();

  // Each client's connection is cut `drops` times a minute on average: a cut
  // every 2–6 s (15 a minute) hits this share of the connections.
  const proxy = await startFaultProxy({
    target: { port },
    seed,
    kinds: ['cut'],
    minIntervalMs: 2_000,
    maxIntervalMs: 6_000,
    fraction: Math.min(1, drops / 15),
  });

  const totals = { sent: 0, received: 0, lost: 0, repeated: 0, requests: 0, failed: 0 };
  const counters = { reconnects: 0, resumes: 0, sessionsLost: 0, left: 0, joined: 0 };
  const slots: Member[] = [];
  let generation = 0;

  const join = (i: number): void => {
    const key = `${i}.${++generation}`;
    up.set(key, new Tally());
    sentDown.set(key, 0);
    const client = createClient<SoakApi>({
      url: `${proxy.url}/ws`,
      WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
      token: key,
      reconnect: { maxAttempts: 1_000 },
      queue: { limit: 1_000_000, overflow: 'error' },
    });
    const member: Member = {
      key,
      client,
      sentUp: 0,
      down: new Tally(),
      requests: 0,
      pending: 0,
      leaving: false,
      gone: false,
      since: Date.now() + rng() * (1000 / rate),
      sessions: 0,
    };
    client.on('down').subscribe(({ n }) => member.down.take(n));
    client.sessions$.subscribe(({ resumed }) => {
      if (member.sessions++ === 0) return;
      counters.reconnects++;
      if (resumed) counters.resumes++;
      else {
        counters.sessionsLost++;
        note(`client ${key} got a new session after a drop`);
      }
    });
    slots[i] = member;
    counters.joined++;
  };

  /** Stops a client, waits until what it sent and was sent arrived, counts it, and forgets it. */
  const leave = async (i: number): Promise<void> => {
    const member = slots[i]!;
    member.leaving = true;
    const drained = await waitFor(() => delivered(member), 60_000);
    if (!drained) note(`client ${member.key} left before everything arrived`);
    settle(member);
    member.client.dispose();
    counters.left++;
  };

  const delivered = (m: Member): boolean =>
    up.get(m.key)!.next === m.sentUp && m.down.next === sentDown.get(m.key) && m.pending === 0;

  /** Adds a member's accounts to the totals and drops its entries (the run's own memory stays flat). */
  const settle = (m: Member): void => {
    const upTally = up.get(m.key)!;
    const downSent = sentDown.get(m.key)!;
    totals.sent += m.sentUp + downSent;
    totals.received += upTally.received + m.down.received;
    totals.lost +=
      upTally.lost + (m.sentUp - upTally.next) + m.down.lost + (downSent - m.down.next);
    totals.repeated += upTally.repeated + m.down.repeated;
    totals.requests += m.requests;
    totals.failed += m.pending;
    up.delete(m.key);
    sentDown.delete(m.key);
    m.gone = true;
  };

  const request = (m: Member, n: number): void => {
    m.requests++;
    m.pending++;
    m.client.request('echo', { n }).subscribe({
      next: (answer) => {
        if (answer.n !== n) totals.failed++;
      },
      error: (error: { code?: string }) => {
        totals.failed++;
        m.pending--;
        note(`request failed: ${error.code}`);
      },
      complete: () => m.pending--,
    });
  };

  for (let i = 0; i < count; i++) join(i);
  await waitFor(() => slots.every((m) => m.client.state.status === 'connected'), 120_000);
  proxy.start();
  log(
    `${count} clients connected; cuts every 2–6 s hit ${Math.round(Math.min(1, drops / 15) * 100)}% of connections`,
  );

  // Sending: one timer for all clients, each at `rate` messages per second
  // from its own random phase, so that the load (and what is in flight when a
  // sample is taken) is spread evenly; every 20th message also makes a request.
  let stopping = false;
  let paused = false;
  const sender = setInterval(() => {
    if (paused) return;
    const now = Date.now();
    for (const m of slots) {
      if (m.leaving) continue;
      const due = Math.floor(((now - m.since) * rate) / 1000);
      while (m.sentUp < due) {
        const n = m.sentUp++;
        m.client.send('up', { n });
        if (n % 20 === 19) request(m, n);
      }
    }
  }, 50);

  // Churn: each second, each client leaves with probability churn/60, and a new one takes its slot.
  const leaving = new Set<Promise<void>>();
  const churner = setInterval(() => {
    if (stopping) return;
    for (let i = 0; i < count; i++) {
      if (slots[i]!.leaving || rng() >= churn / 60) continue;
      const done: Promise<void> = leave(i).then(() => {
        leaving.delete(done);
        if (!stopping) join(i);
      });
      leaving.add(done);
    }
  }, 1_000);

  const samples: SoakSample[] = [];
  const inFlight = (): number => {
    let n = 0;
    for (const session of server.sessions.values()) n += session.delivery.unacked;
    for (const m of slots) if (!m.gone) n += m.client.state.unacked + m.client.state.queued;
    return n;
  };
  /**
   * One sample. Sending pauses until nothing is in flight (at most 3 s), so
   * the heap measures what the process keeps, not the messages that happen
   * to be on their way; the clients' schedules then shift by the pause.
   */
  const sample = async (): Promise<void> => {
    const pausedAt = Date.now();
    const memory = process.memoryUsage(); // as the process runs, garbage included
    paused = true;
    await waitFor(() => inFlight() === 0, 3_000);
    const heap = await settledHeapFigures();
    let unackedServer = 0;
    for (const session of server.sessions.values()) unackedServer += session.delivery.unacked;
    const live = slots.filter((m) => !m.leaving);
    const s: SoakSample = {
      t: Math.round((pausedAt - started) / 1000),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapAfterGc: heap.used,
      code: heap.code,
      sessions: server.sessions.size,
      connected: live.filter((m) => m.client.state.status === 'connected').length,
      unackedServer,
      unackedClients: live.reduce((n, m) => n + m.client.state.unacked, 0),
      handles: handleCount(),
      sent: totals.sent + live.reduce((n, m) => n + m.sentUp + (sentDown.get(m.key) ?? 0), 0),
      received:
        totals.received +
        live.reduce((n, m) => n + (up.get(m.key)?.received ?? 0) + m.down.received, 0),
      reconnects: counters.reconnects,
      resumes: counters.resumes,
      left: counters.left,
      joined: counters.joined - count,
    };
    samples.push(s);
    paused = false;
    const pause = Date.now() - pausedAt;
    for (const m of slots) m.since += pause;
    log(
      `${s.t} s: heap ${(s.heapAfterGc / MiB).toFixed(1)} MiB after GC, rss ${(s.rss / MiB).toFixed(0)} MiB, ` +
        `${s.sessions} sessions, ${s.connected} connected, unacked ${s.unackedServer}/${s.unackedClients}, ` +
        `${s.handles} handles, messages ${s.received}/${s.sent}, reconnects ${s.reconnects}, left ${s.left}`,
    );
  };

  const end = started + minutes * 60_000;
  for (let next = started + sampleMs; next <= end + 1; next += sampleMs) {
    await sleep(Math.max(0, next - Date.now()));
    await sample();
  }

  stopping = true;
  clearInterval(sender);
  clearInterval(churner);
  proxy.stop();
  await Promise.all([...leaving]);
  const staying = slots.filter((m) => !m.gone);
  const drained = await waitFor(() => staying.every(delivered), 120_000);
  if (!drained) note('not everything was delivered within 120 s of the end');
  for (const m of staying) settle(m);
  for (const m of staying) m.client.dispose();
  await server.close();
  await proxy.close();
  await waitFor(() => handleCount() <= handlesBefore, 10_000);

  const growth = heapGrowth(samples, fromMinute);
  const report: SoakReport = {
    minutes,
    clients: count,
    seed,
    seconds: Math.round((Date.now() - started) / 1000),
    samples,
    growth,
    messages: {
      sent: totals.sent,
      received: totals.received,
      lost: totals.lost,
      repeated: totals.repeated,
    },
    requests: { sent: totals.requests, failed: totals.failed },
    reconnects: counters.reconnects,
    resumes: counters.resumes,
    sessionsLost: counters.sessionsLost,
    cuts: proxy.stats.cuts,
    left: counters.left,
    joined: counters.joined - count,
    backpressured,
    handles: { before: handlesBefore, after: handleCount() },
    problems: [],
    notes,
  };
  const problems = report.problems;
  if (report.messages.lost > 0) problems.push(`${report.messages.lost} messages lost`);
  if (report.messages.repeated > 0)
    problems.push(`${report.messages.repeated} messages delivered twice`);
  if (report.requests.failed > 0) problems.push(`${report.requests.failed} requests failed`);
  if (report.sessionsLost > 0)
    problems.push(`${report.sessionsLost} sessions not resumed after a drop`);
  if (growth.samples < 2) problems.push('too few samples to measure the heap growth');
  else if (growth.percent > growth.limitPercent) {
    problems.push(
      `heap after GC grew ${growth.percent.toFixed(1)}% from minute ${fromMinute} (limit ${growth.limitPercent}%)`,
    );
  }
  if (report.handles.after > report.handles.before) {
    problems.push(`${report.handles.after - report.handles.before} handles left after the run`);
  }
  return report;
}

/**
 * How much the heap after GC grew over the window from `fromMinute` to the
 * last sample: a line through every sample of the window, from its value at
 * the window's start to its value at the end, as a share of the first. A
 * line, not two single samples, because any one sample also holds whatever
 * is in flight when it is taken; a leak is a slope. The line is Theil–Sen's
 * (the median of the slopes between every pair of samples, through the
 * median point), which a few samples taken during a reconnect burst cannot
 * tilt the way they tilt a least-squares line.
 */
export function heapGrowth(samples: readonly SoakSample[], fromMinute: number): HeapGrowth {
  const window = samples.filter((s) => s.t >= fromMinute * 60);
  const n = window.length;
  const limitPercent = 5;
  if (n < 2) return { fromMinute, from: 0, to: 0, percent: 0, limitPercent, samples: n };
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = window[i]!;
      const b = window[j]!;
      if (b.t !== a.t) slopes.push((b.heapAfterGc - a.heapAfterGc) / (b.t - a.t));
    }
  }
  const slope = median(slopes);
  const intercept = median(window.map((s) => s.heapAfterGc - slope * s.t));
  const start = intercept + slope * window[0]!.t;
  const end = intercept + slope * window[n - 1]!.t;
  return {
    fromMinute,
    from: start,
    to: end,
    percent: ((end - start) / start) * 100,
    limitPercent,
    samples: n,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const CSV_COLUMNS: Array<keyof SoakSample> = [
  't',
  'rss',
  'heapUsed',
  'heapAfterGc',
  'code',
  'sessions',
  'connected',
  'unackedServer',
  'unackedClients',
  'handles',
  'sent',
  'received',
  'reconnects',
  'resumes',
  'left',
  'joined',
];

/** The samples as CSV: one row per sample, bytes as bytes. */
export function soakCsv(report: SoakReport): string {
  const rows = report.samples.map((s) => CSV_COLUMNS.map((c) => s[c]).join(','));
  return `${CSV_COLUMNS.join(',')}\n${rows.join('\n')}\n`;
}

/** The curves as an SVG line chart: heap, RSS, then sessions, handles and unacked messages. */
export function soakSvg(report: SoakReport): string {
  const min = (s: SoakSample) => s.t / 60;
  const { growth } = report;
  const last = report.samples[report.samples.length - 1];
  const fit: Array<[number, number]> =
    growth.samples >= 2 && last
      ? [
          [growth.fromMinute, growth.from / MiB],
          [min(last), growth.to / MiB],
        ]
      : [];
  const line = (pick: (s: SoakSample) => number) =>
    report.samples.map((s) => [min(s), pick(s)] as [number, number]);
  return lineChart({
    title: `rxwire soak: ${report.clients} clients, ${report.minutes} min`,
    subtitle:
      `${report.messages.received.toLocaleString('en-US')} of ${report.messages.sent.toLocaleString('en-US')} messages delivered, ` +
      `${report.messages.lost} lost; ${report.reconnects} reconnects (${report.resumes} resumed), ` +
      `${report.left} clients left and were replaced; heap after GC ${growth.percent >= 0 ? '+' : ''}${growth.percent.toFixed(1)}% ` +
      `from minute ${growth.fromMinute} (limit ${growth.limitPercent}%)`,
    xLabel: 'minutes',
    panels: [
      {
        title: 'Heap',
        yLabel: 'MiB',
        shade: {
          from: growth.fromMinute,
          to: last ? min(last) : growth.fromMinute,
          label: 'growth measured here',
        },
        series: [
          { name: 'heapUsed', color: '#1f77b4', points: line((s) => s.heapUsed / MiB) },
          { name: 'heap after GC', color: '#d62728', points: line((s) => s.heapAfterGc / MiB) },
          { name: 'heap after GC, fitted', color: '#000000', points: fit, dashed: true },
          { name: 'of it compiled code', color: '#bcbd22', points: line((s) => s.code / MiB) },
        ],
      },
      {
        title: 'Resident memory (RSS)',
        yLabel: 'MiB',
        series: [{ name: 'RSS', color: '#7f7f7f', points: line((s) => s.rss / MiB) }],
      },
      {
        title: 'Counts',
        yLabel: 'count',
        series: [
          { name: 'server sessions', color: '#2ca02c', points: line((s) => s.sessions) },
          { name: 'active handles', color: '#9467bd', points: line((s) => s.handles) },
          { name: 'unacked (server)', color: '#ff7f0e', points: line((s) => s.unackedServer) },
          { name: 'unacked (clients)', color: '#8c564b', points: line((s) => s.unackedClients) },
        ],
      },
    ],
  });
}

/** The report as a few readable lines. */
export function formatSoak(r: SoakReport): string {
  const g = r.growth;
  return [
    `soak: ${r.clients} clients, ${r.minutes} min (${r.seconds} s), seed ${r.seed}, ${r.samples.length} samples`,
    `  messages: ${r.messages.received}/${r.messages.sent} delivered, lost ${r.messages.lost}, twice ${r.messages.repeated}; ` +
      `requests ${r.requests.sent} (${r.requests.failed} failed)`,
    `  connections cut ${r.cuts}, reconnects ${r.reconnects} (${r.resumes} resumed, ${r.sessionsLost} new sessions); ` +
      `clients left ${r.left}, joined ${r.joined}; server sends refused over maxUnacked ${r.backpressured}`,
    `  heap after GC, fitted over minute ${g.fromMinute} to the end (${g.samples} samples): ` +
      `${(g.from / MiB).toFixed(2)} -> ${(g.to / MiB).toFixed(2)} MiB, ${g.percent >= 0 ? '+' : ''}${g.percent.toFixed(2)}% (limit ${g.limitPercent}%)`,
    `  handles: ${r.handles.before} before, ${r.handles.after} after`,
    r.problems.length === 0 ? '  OK' : `  FAILED: ${r.problems.join('; ')}`,
    ...(r.problems.length === 0 ? [] : r.notes.map((n) => `    ${n}`)),
  ].join('\n');
}
