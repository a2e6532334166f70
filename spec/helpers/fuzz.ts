// The live fuzz run shared by spec/fuzz/live.spec.ts and `npm run fuzz`:
// many raw connections send random, mutated-valid and oversized frames (text
// and binary, before and after `$hello`) at one rxwire server, while
// well-behaved rxwire clients exchange numbered messages and requests with
// it. Every answer the server sends a fuzz connection is checked, in order,
// against the documented one (spec/helpers/fuzz-oracle.ts); the clients must
// lose nothing; the server must still be up; and the heap, measured after a
// forced GC with the run's connections gone, must come back to its baseline.
import { of } from 'rxjs';
import { WebSocket } from 'ws';
import { createClient, type Client, type WebSocketConstructor } from '../../src/index.js';
import type { Envelope, Protocol } from '../../src/protocol/index.js';
import { createServer, type RxwireServer } from '../../server/index.js';
import { FrameGenerator, type FrameClass, type FuzzFrame } from './fuzz-frames.js';
import { ConnectionOracle, type ExpectedAnswer, type FuzzServerShape } from './fuzz-oracle.js';
import { settledHeapFigures, type HeapFigures } from './server-gc.js';
import { pace, Tally } from './tally.js';

interface FuzzApi extends Protocol {
  client: { up: { n: number }; chat: { text: string }; num: { n: number } };
  server: { down: { n: number } };
  requests: { echo: { request: object; response: object } };
}

export interface FuzzOptions {
  /** Frames the fuzz connections send (first frames included; sync frames not). */
  frames: number;
  seed: number;
  /** Fuzz connections open at once. @default 16 */
  connections?: number;
  /** Well-behaved rxwire clients. @default 8 */
  clients?: number;
  /** Messages per second each client sends (the server answers each one). @default 50 */
  rate?: number;
  /** Frames a fuzz connection sends before it waits for their answers. @default 32 */
  batch?: number;
  /**
   * Allowed growth, in bytes, of the heap after GC without compiled code
   * (V8's code spaces grow as the JIT optimizes). What is left of the
   * growth in a clean run is JIT metadata in the old space (deoptimization
   * data, relocation info: +1.0 MiB after 300,000 frames, per a heap
   * snapshot diff), not objects the server holds.
   * @default 2 MiB
   */
  heapTolerance?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  seconds: number;
  frames: number;
  connections: number;
  /** Frames by how they were made, then by what the server did (the documented outcome, checked). */
  outcomes: Record<string, Record<string, number>>;
  /** Answers that differed from the documented ones (the first 20), and how many in all. */
  mismatches: string[];
  mismatchCount: number;
  clients: {
    count: number;
    sent: { up: number; down: number };
    received: { up: number; down: number };
    lost: number;
    repeated: number;
    requests: number;
    requestsFailed: number;
    /** Times a client's connection dropped or its session changed. Must be 0. */
    disturbed: number;
  };
  server: { upAfter: boolean; sessionsAfter: number; logs: Record<string, number> };
  /** Heap after a forced GC, with the connections of the run gone, and how much of it was compiled code. */
  heap: { before: HeapFigures; after: HeapFigures; tolerance: number };
  problems: string[];
}

/**
 * The fuzz server's shape: 64 KiB frames (oversized ones stay cheap), the
 * other limits at their defaults, validators for `up`, `num` and `echo`, and
 * an `echo` request handler.
 */
const SHAPE: FuzzServerShape = {
  maxPayload: 65_536,
  maxDepth: 64,
  maxAudioStreams: 16,
  validate: {
    up: (p) => typeof (p as { n?: unknown } | null)?.n === 'number',
    num: (p) => typeof (p as { n?: unknown } | null)?.n === 'number' || 'n must be a number',
    echo: (p) => (typeof p === 'object' && p !== null) || 'an object or an array',
  },
  echoes: ['echo'],
};
/** A well-behaved client's token: a control character the fuzz generator never writes. */
const goodToken = (i: number) => `\u0007${i}`;
const BATCH_TIMEOUT_MS = 30_000;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, frames } = options;
  const slots = options.connections ?? 16;
  const count = options.clients ?? 8;
  const rate = options.rate ?? 50;
  const batch = options.batch ?? 32;
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const problems: string[] = [];
  const logs: Record<string, number> = { debug: 0, info: 0, warn: 0, error: 0 };

  const server = createServer<FuzzApi, { id: string }>({
    port: 0,
    host: '127.0.0.1',
    maxPayload: SHAPE.maxPayload,
    rateLimit: false,
    authenticate: (token) => ({ id: token ?? 'anonymous' }),
    validate: SHAPE.validate,
    logger: {
      debug: () => logs.debug!++,
      info: () => logs.info!++,
      warn: () => logs.warn!++,
      error: (message, context) => {
        logs.error!++;
        if (problems.length < 20)
          problems.push(`server error log: ${message} ${JSON.stringify(context)}`);
      },
    },
  });
  server.handle('echo', (payload) => of(payload));
  const { port } = await server.ready();
  const url = `ws://127.0.0.1:${port}/ws`;

  // Well-behaved clients: numbered messages both ways, and requests.
  const clients = new Clients(server, url, count, rate);
  await clients.connect();

  const fuzz = new Fuzzer(url, seed, batch, log);
  // Warm-up: a small fuzz round and some traffic, so the baseline holds what
  // a first run allocates once (compiled code, ws's pools, the logs' state).
  clients.start();
  await fuzz.run(Math.min(10_000, Math.ceil(frames / 10)), slots, false);
  await clients.quiesce();
  await until(
    () => server.sessions.size === count,
    30_000,
    'the warm-up sessions to end',
    problems,
  );
  const before = await settledHeapFigures();
  log(`baseline heap ${mib(before.used)} MiB with ${count} clients connected`);

  clients.start();
  const progress = setInterval(() => log(fuzz.progress()), 10_000);
  await fuzz.run(frames, slots, true);
  clearInterval(progress);
  await clients.quiesce();
  await until(() => server.sessions.size === count, 30_000, 'the fuzz sessions to end', problems);
  const after = await settledHeapFigures();
  const tolerance = options.heapTolerance ?? 2 * 1_048_576;

  // The server is up: a new client connects and gets an answer.
  const upAfter = await clients.probe();
  const sessionsAfter = server.sessions.size;
  const report: FuzzReport = {
    seed,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    frames: fuzz.sent,
    connections: fuzz.opened,
    outcomes: fuzz.outcomes,
    mismatches: fuzz.mismatches,
    mismatchCount: fuzz.mismatchCount,
    clients: clients.summary(),
    server: { upAfter, sessionsAfter, logs },
    heap: { before, after, tolerance },
    problems,
  };
  clients.dispose();
  await server.close();

  if (report.mismatchCount > 0)
    problems.push(`${report.mismatchCount} answers differed from the documented ones`);
  if (report.frames < frames) problems.push(`only ${report.frames} of ${frames} frames were sent`);
  const c = report.clients;
  if (c.lost > 0) problems.push(`the clients lost ${c.lost} messages`);
  if (c.repeated > 0) problems.push(`the clients got ${c.repeated} messages twice`);
  if (c.requestsFailed > 0) problems.push(`${c.requestsFailed} client requests failed`);
  if (c.disturbed > 0)
    problems.push(`the clients' connections were disturbed ${c.disturbed} times`);
  if (!upAfter) problems.push('the server did not serve a new client after the run');
  const grown = after.used - after.code - (before.used - before.code);
  if (grown > tolerance) {
    problems.push(`heap without code grew by ${mib(grown)} MiB (tolerance ${mib(tolerance)} MiB)`);
  }
  return report;
}

/** The raw connections that send fuzz frames, and what they saw. */
class Fuzzer {
  sent = 0;
  opened = 0;
  readonly outcomes: Record<string, Record<string, number>> = {};
  readonly mismatches: string[] = [];
  mismatchCount = 0;
  private budget = 0;
  private counting = false;
  private round = 0;

  constructor(
    private readonly url: string,
    private readonly seed: number,
    private readonly batch: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Sends `frames` frames from `slots` connections at once; resolves when all are answered. */
  async run(frames: number, slots: number, counting: boolean): Promise<void> {
    this.budget = frames;
    this.counting = counting;
    const round = ++this.round;
    // One generator per slot, so that a seed gives each slot the same frames
    // whatever order the slots' connections happen to run in.
    await Promise.all(
      Array.from({ length: slots }, (_, k) =>
        this.slot(
          new FrameGenerator(
            (this.seed + round * 1_000_003 + k * 7_919) >>> 0,
            SHAPE.maxPayload,
            SHAPE.maxDepth,
          ),
        ),
      ),
    );
  }

  progress(): string {
    return `fuzz: ${this.sent} frames, ${this.opened} connections, ${this.mismatchCount} mismatches`;
  }

  /** One connection after another until the budget is spent. */
  private async slot(generator: FrameGenerator): Promise<void> {
    while (this.budget > 0) await this.connection(generator);
  }

  private async connection(generator: FrameGenerator): Promise<void> {
    if (this.counting) this.opened++;
    const first = this.take(generator.first()); // before the await: other slots share the budget
    const peer = new FuzzPeer(await openSocket(this.url), this);
    try {
      peer.write(first);
      while (await peer.settle()) {
        if (this.budget <= 0) {
          await peer.goodbye();
          return;
        }
        // Frames are made one at a time: each depends on what the ones before did.
        for (let i = 0; i < this.batch && this.budget > 0 && !peer.oracle.closed; i++) {
          peer.write(this.take(generator.next(peer.state)));
        }
      }
    } finally {
      // A connection left after a mismatch says goodbye too: a drop would keep its session for a resume.
      if (peer.socket.readyState === WebSocket.OPEN) peer.socket.close(1000);
    }
  }

  private take(frame: FuzzFrame): FuzzFrame {
    this.budget--;
    if (this.counting) this.sent++;
    return frame;
  }

  /** Counts what one frame caused. */
  count(kind: FrameClass, outcome: string): void {
    if (!this.counting) return;
    const row = (this.outcomes[kind] ??= {});
    row[outcome] = (row[outcome] ?? 0) + 1;
  }

  mismatch(line: string): void {
    this.mismatchCount++;
    if (this.mismatches.length < 20) this.mismatches.push(line);
    if (this.mismatchCount <= 3) this.log(`mismatch: ${line}`);
  }
}

/** One fuzz connection: sends frames, and checks each answer against the oracle's, in order. */
class FuzzPeer {
  readonly oracle = new ConnectionOracle(SHAPE);
  private readonly expected: Array<ExpectedAnswer & { frame: string }> = [];
  private expectedClose: { code: number; frame: string } | undefined;
  private lastSeq = 0;
  private closed: { code: number } | undefined;
  private wake: (() => void) | undefined;
  private broken = false;
  /** The last frames sent and what they should have caused, for a mismatch's report. */
  private readonly recent: string[] = [];

  constructor(
    readonly socket: WebSocket,
    private readonly fuzzer: Fuzzer,
  ) {
    socket.on('message', (data, isBinary) => this.answer(String(data), isBinary));
    socket.on('close', (code) => {
      this.closed = { code };
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  get state() {
    return { nextSeq: this.oracle.received + 1, serverSent: this.oracle.serverSent };
  }

  /**
   * Unless a frame closed the connection, sends a valid `$ack` and a `$ping`;
   * then waits for every expected answer (the `$pong` last) or the close.
   * True while the connection can take more frames.
   */
  async settle(): Promise<boolean> {
    if (!this.oracle.closed) {
      const ack = this.oracle.serverSent;
      this.write({ kind: 'valid', data: envelopeText('$ack', null, { ack }) }, false);
      this.write({ kind: 'valid', data: envelopeText('$ping', null) }, false);
    }
    await this.settled();
    return !this.oracle.closed && !this.broken && this.closed === undefined;
  }

  /** Closes the connection normally (1000) and waits for it. */
  async goodbye(): Promise<void> {
    if (this.closed !== undefined) return;
    this.expectedClose = { code: 1000, frame: 'our close' };
    this.socket.close(1000);
    await this.settled();
  }

  /** Sends one frame, noting what the server must answer. */
  write(frame: FuzzFrame, counted = true): void {
    const { data } = frame;
    const expectation = this.oracle.expect(data, frame.text === true);
    const shown = show(frame);
    this.recent.push(`${shown} => ${expectation.outcome}`);
    if (this.recent.length > 4) this.recent.shift();
    for (const answer of expectation.answers) this.expected.push({ ...answer, frame: shown });
    if (expectation.close !== undefined)
      this.expectedClose = { code: expectation.close, frame: shown };
    if (counted) this.fuzzer.count(frame.kind, expectation.outcome);
    if (typeof data === 'string') this.socket.send(data);
    else this.socket.send(data, { binary: frame.text !== true });
  }

  /** Resolves when every expected answer arrived (and the close, when one is expected). */
  private async settled(): Promise<void> {
    const deadline = Date.now() + BATCH_TIMEOUT_MS;
    const done = () =>
      this.broken ||
      this.closed !== undefined ||
      (this.expected.length === 0 && this.expectedClose === undefined);
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.fail(`no answer within ${BATCH_TIMEOUT_MS} ms; waiting for ${this.waitingFor()}`);
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (this.closed !== undefined && !this.broken) this.checkClose(this.closed.code);
  }

  private answer(text: string, isBinary: boolean): void {
    if (this.broken) return;
    if (isBinary) return this.fail('the server sent a binary frame');
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return this.fail(`the server sent a frame that is not JSON: ${text.slice(0, 80)}`);
    }
    if (envelope.seq !== undefined) {
      if (envelope.seq !== this.lastSeq + 1) {
        return this.fail(`server seq ${envelope.seq} after ${this.lastSeq}`);
      }
      this.lastSeq = envelope.seq;
    }
    if (envelope.type === '$ack') return; // the server acknowledging our frames
    const expected = this.expected.shift();
    if (expected === undefined) return this.fail(`unexpected ${short(text)}`);
    const payload = envelope.payload as { code?: unknown } | null;
    const same =
      envelope.type === expected.type &&
      envelope.replyTo === expected.replyTo &&
      (expected.code === undefined || payload?.code === expected.code) &&
      (expected.payload === undefined || JSON.stringify(envelope.payload) === expected.payload);
    if (!same) {
      return this.fail(`expected ${JSON.stringify(expected)}, got ${short(text)}`);
    }
    if (this.expected.length === 0) this.wake?.();
  }

  private checkClose(code: number): void {
    const expected = this.expectedClose;
    if (this.expected.length > 0) {
      this.fail(`closed ${code} while waiting for ${this.waitingFor()}`);
    } else if (expected === undefined) {
      this.fail(`closed ${code}, no close expected`);
    } else if (expected.code !== code) {
      this.fail(`closed ${code}, expected ${expected.code} after ${expected.frame}`);
    }
    this.expectedClose = undefined;
  }

  private waitingFor(): string {
    const next = this.expected[0];
    if (next !== undefined) return `${JSON.stringify(next)}`;
    return this.expectedClose ? `close ${this.expectedClose.code}` : 'nothing';
  }

  private fail(line: string): void {
    if (this.broken) return;
    this.broken = true;
    this.fuzzer.mismatch(`${line}\n      after: ${this.recent.join('\n             ')}`);
    this.wake?.();
  }
}

/** The well-behaved clients and the server's side of their exchange. */
class Clients {
  private readonly clients: Array<Client<FuzzApi>> = [];
  private readonly up: Tally[];
  private readonly down: Tally[];
  private readonly sentUp: number[];
  private readonly sentDown: number[];
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private requests = 0;
  private requestsFailed = 0;
  private disturbed = 0;

  constructor(
    private readonly server: RxwireServer<FuzzApi, { id: string }>,
    private readonly url: string,
    private readonly count: number,
    private readonly rate: number,
  ) {
    this.up = Array.from({ length: count }, () => new Tally());
    this.down = Array.from({ length: count }, () => new Tally());
    this.sentUp = new Array<number>(count).fill(0);
    this.sentDown = new Array<number>(count).fill(0);
    server.sessions$.subscribe((session) => {
      const i = [...Array(count).keys()].find((k) => session.user.id === goodToken(k));
      if (i === undefined) return;
      session.on('up').subscribe(({ n }) => {
        this.up[i]!.take(n);
        session.send('down', { n: this.sentDown[i]!++ });
      });
    });
  }

  async connect(): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      const client = createClient<FuzzApi>({
        url: this.url,
        WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
        token: goodToken(i),
      });
      client.on('down').subscribe(({ n }) => this.down[i]!.take(n));
      let sessions = 0;
      // One session each for the whole run: any other is a drop the fuzz caused.
      client.sessions$.subscribe(() => {
        if (++sessions > 1) this.disturbed++;
      });
      this.clients.push(client);
    }
    await Promise.all(this.clients.map((c) => connectedWithin(c, 10_000)));
  }

  /** Starts sending: numbered messages, and an echo request every 25th. */
  start(): void {
    this.clients.forEach((client, i) => {
      this.timers.push(
        pace(this.rate, (k) => {
          for (let j = 0; j < k; j++) {
            const n = this.sentUp[i]!++;
            client.send('up', { n });
            if (n % 25 === 0) this.request(client, n);
          }
        }),
      );
    });
  }

  /** Stops sending and waits until everything sent was received, both ways. */
  async quiesce(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const delivered = () =>
      this.up.every((t, i) => t.next === this.sentUp[i]) &&
      this.down.every((t, i) => t.next === this.sentDown[i]) &&
      this.pendingRequests === 0;
    const deadline = Date.now() + 60_000;
    while (!delivered() && Date.now() < deadline) await sleep(20);
  }

  /** A new client connects and gets an echo: the server still serves. */
  async probe(): Promise<boolean> {
    const client = createClient<FuzzApi>({
      url: this.url,
      WebSocketCtor: WebSocket as unknown as WebSocketConstructor,
      reconnect: false,
    });
    try {
      await connectedWithin(client, 10_000);
      const answer = await new Promise<unknown>((resolve, reject) =>
        client.request('echo', { probe: true }).subscribe({ next: resolve, error: reject }),
      );
      return (
        JSON.stringify(answer) === '{"probe":true}' && this.server.sessions.size === this.count + 1
      );
    } catch {
      return false;
    } finally {
      client.dispose();
    }
  }

  summary(): FuzzReport['clients'] {
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const lostIn = (tallies: Tally[], sent: number[]) =>
      sum(tallies.map((t, i) => t.lost + (sent[i]! - t.next)));
    return {
      count: this.count,
      sent: { up: sum(this.sentUp), down: sum(this.sentDown) },
      received: {
        up: sum(this.up.map((t) => t.received)),
        down: sum(this.down.map((t) => t.received)),
      },
      lost: lostIn(this.up, this.sentUp) + lostIn(this.down, this.sentDown),
      repeated: sum(this.up.map((t) => t.repeated)) + sum(this.down.map((t) => t.repeated)),
      requests: this.requests,
      requestsFailed: this.requestsFailed + this.pendingRequests,
      disturbed: this.disturbed,
    };
  }

  dispose(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const client of this.clients) client.dispose();
  }

  private pendingRequests = 0;

  private request(client: Client<FuzzApi>, n: number): void {
    this.requests++;
    this.pendingRequests++;
    client.request('echo', { n }).subscribe({
      next: (answer) => {
        if ((answer as { n?: unknown }).n !== n) this.requestsFailed++;
      },
      error: () => {
        this.requestsFailed++;
        this.pendingRequests--;
      },
      complete: () => this.pendingRequests--,
    });
  }
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function connectedWithin(client: Client<FuzzApi>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a client did not connect')), ms);
    const subscription = client.state$.subscribe((s) => {
      if (s.status !== 'connected') return;
      clearTimeout(timer);
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    });
  });
}

let ids = 0;
function envelopeText(type: string, payload: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type, id: `sync${++ids}`, payload, timestamp: 't', ...extra });
}

function show(frame: FuzzFrame): string {
  const { data } = frame;
  const body =
    typeof data === 'string'
      ? JSON.stringify(data.length > 120 ? `${data.slice(0, 120)}…(${data.length})` : data)
      : `<${data.byteLength} bytes ${Buffer.from(data.subarray(0, 24)).toString('hex')}…>`;
  return `${frame.kind}${frame.text ? ' (raw text)' : ''} ${body}`;
}

const short = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 1_048_576).toFixed(2);
const heapLine = (what: string, before: number, after: number) =>
  `  ${what.padEnd(15)} ${mib(before)} MiB before, ${mib(after)} MiB after (${after >= before ? '+' : ''}${mib(after - before)} MiB)`;

async function until(check: () => boolean, ms: number, what: string, problems: string[]) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      problems.push(`timed out waiting for ${what}`);
      return;
    }
    await sleep(20);
  }
}

/** The report as two tables and a few lines. */
export function formatFuzz(r: FuzzReport): string {
  const kinds = Object.keys(r.outcomes).sort();
  const byCode: Record<string, number> = {};
  const rows = kinds.map((kind) => {
    const row = r.outcomes[kind]!;
    const sorted = Object.entries(row).sort((a, b) => b[1] - a[1]);
    for (const [outcome, n] of sorted) byCode[outcome] = (byCode[outcome] ?? 0) + n;
    const sent = sorted.reduce((n, [, k]) => n + k, 0);
    return [kind, String(sent), sorted.map(([o, n]) => `${o} ${n}`).join(', ')];
  });
  const codes = Object.entries(byCode).sort((a, b) => b[1] - a[1]);
  const table = (head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) =>
          i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!),
        )
        .join('  ');
    return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  };
  const c = r.clients;
  return [
    `fuzz: seed ${r.seed}, ${r.frames} frames from ${r.connections} connections in ${r.seconds} s`,
    '',
    ...table(['frames by class', 'sent', 'what the server did'], rows),
    '',
    ...table(
      ['answers by code', 'count', ''],
      codes.map(([code, n]) => [code, String(n), '']),
    ),
    '',
    `  every answer checked, in order, against docs/PROTOCOL.md: ${r.mismatchCount} mismatches`,
    `  clients: ${c.count}, up ${c.received.up}/${c.sent.up}, down ${c.received.down}/${c.sent.down}, ` +
      `lost ${c.lost}, twice ${c.repeated}, requests ${c.requests} (${c.requestsFailed} failed), disturbed ${c.disturbed}`,
    `  server after the run: ${r.server.upAfter ? 'up, serves a new client' : 'NOT SERVING'}, ` +
      `${r.server.sessionsAfter} sessions; log lines ${JSON.stringify(r.server.logs)}`,
    heapLine('heap after GC', r.heap.before.used, r.heap.after.used),
    heapLine('  of it code', r.heap.before.code, r.heap.after.code),
    heapLine(
      '  without code',
      r.heap.before.used - r.heap.before.code,
      r.heap.after.used - r.heap.after.code,
    ) + ` (tolerance +${mib(r.heap.tolerance)} MiB)`,
    r.problems.length === 0 ? '  OK' : `  FAILED: ${r.problems.join('; ')}`,
    ...r.mismatches.map((m) => `    ${m}`),
  ].join('\n');
}
