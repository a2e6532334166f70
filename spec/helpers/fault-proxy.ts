// A fault-injecting TCP proxy for chaos tests of reconnect and resume. It sits
// between WebSocket clients and a real server on loopback and, on a seeded
// random schedule (or on demand), cuts connections, stalls them (bytes held,
// connection open: only a heartbeat can notice) or adds per-chunk latency.
//
// Built on `node:net` only. Every socket has an 'error' handler, timers are
// unref'd and cleared on close, and forwarding respects backpressure: a
// direction's source is paused while its destination needs a 'drain' or while
// more than `maxQueuedBytes` are held for it (stalls and delays queue data).
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'cut' | 'stall' | 'delay';

export interface FaultEvent {
  kind: FaultKind;
  /** Milliseconds since the proxy started listening. */
  at: number;
  /** How many live connection pairs the fault hit (0 when none were open). */
  pairs: number;
  /** True for faults from the random schedule, false for cutAll/stallAll/delayAll. */
  scheduled: boolean;
}

export interface FaultProxyOptions {
  /** Upstream server (default host 127.0.0.1). */
  target: { host?: string; port: number };
  /** Seeds the PRNG: the same seed gives the same sequence of fault kinds and intervals. */
  seed: number;
  /** Start the random schedule immediately (default false; call start()). */
  faults?: boolean;
  /** Default 200. */
  minIntervalMs?: number;
  /** Default 2000. */
  maxIntervalMs?: number;
  /** Default all: 'cut' | 'stall' | 'delay'. */
  kinds?: FaultKind[];
  /** The share of live pairs a scheduled fault hits (at least one); default 0.5. */
  fraction?: number;
  /** How long a scheduled stall freezes forwarding in both directions; default 3000. */
  stallMs?: number;
  /** Extra per-chunk latency range for 'delay' faults; default [20, 200]. */
  delayMs?: [number, number];
  /** Bytes held per direction before the source is paused; default 1 MiB. */
  maxQueuedBytes?: number;
  /** Called for every fault, scheduled or manual. */
  onFault?: (event: FaultEvent) => void;
  logger?: (line: string) => void;
}

export interface FaultProxyStats {
  /** Client connections paired with an upstream connection, in total. */
  connections: number;
  /** Pairs open now. */
  active: number;
  /** Client connections destroyed on arrival because of refuse(true). */
  refused: number;
  /** Pairs cut / stalled / delayed, in total (a fault hitting 3 pairs counts 3). */
  cuts: number;
  stalls: number;
  delays: number;
  /** Bytes forwarded client → upstream and upstream → client. */
  bytesUp: number;
  bytesDown: number;
  /** The most bytes ever held in one direction's queue. */
  peakQueuedBytes: number;
}

export interface FaultProxy {
  /** Listening port (the proxy listens on 127.0.0.1, port 0). */
  readonly port: number;
  /** ws://127.0.0.1:<port> */
  readonly url: string;
  readonly stats: Readonly<FaultProxyStats>;
  /** Every fault so far, in order. */
  readonly history: readonly FaultEvent[];
  /** Begin (or resume) the random fault schedule. */
  start(): void;
  /** Stop injecting; pending stalls and delays are released at once, connections stay. */
  stop(): void;
  /** Destroy every live client + upstream pair now (RST where possible, like a network cut). */
  cutAll(): void;
  /** Stop forwarding both ways for `ms`; bytes are held, not lost, then flushed in order. */
  stallAll(ms: number): void;
  /** Hold each chunk of every live pair for a random delay in `range` (default delayMs), for `ms`. */
  delayAll(ms: number, range?: [number, number]): void;
  /** While on, new client connections are accepted then destroyed at once. */
  refuse(on: boolean): void;
  /** Stop faults, destroy all connections, close the listener; resolves when the port is free. */
  close(): Promise<void>;
}

/** A small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALL_KINDS: readonly FaultKind[] = ['cut', 'stall', 'delay'];

interface Chunk {
  data: Buffer;
  /** Epoch ms before which the chunk may not be written (0: now). */
  releaseAt: number;
}

class Pipe {
  readonly queue: Chunk[] = [];
  queuedBytes = 0;
  /** The source sent FIN. */
  srcEnded = false;
  /** The source socket emitted 'close'. */
  srcClosed = false;
  /** We sent FIN to the destination. */
  dstEnded = false;
  waitingDrain = false;
  srcPaused = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly pair: Pair,
    readonly src: net.Socket,
    readonly dst: net.Socket,
    readonly dir: 'up' | 'down',
  ) {}
}

class Pair {
  readonly up: Pipe;
  readonly down: Pipe;
  stalled = false;
  stallEnd = 0;
  stallTimer: NodeJS.Timeout | undefined;
  delayUntil = 0;
  delayRange: [number, number] = [0, 0];
  closed = false;

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
  ) {
    this.up = new Pipe(this, client, upstream, 'up');
    this.down = new Pipe(this, upstream, client, 'down');
  }
}

interface Resolved {
  host: string;
  targetPort: number;
  minIntervalMs: number;
  maxIntervalMs: number;
  kinds: readonly FaultKind[];
  fraction: number;
  stallMs: number;
  delayMs: [number, number];
  maxQueuedBytes: number;
  onFault: ((event: FaultEvent) => void) | undefined;
  logger: ((line: string) => void) | undefined;
}

function resolveOptions(o: FaultProxyOptions): Resolved {
  const r: Resolved = {
    host: o.target.host ?? '127.0.0.1',
    targetPort: o.target.port,
    minIntervalMs: o.minIntervalMs ?? 200,
    maxIntervalMs: o.maxIntervalMs ?? 2000,
    kinds: o.kinds ?? ALL_KINDS,
    fraction: o.fraction ?? 0.5,
    stallMs: o.stallMs ?? 3000,
    delayMs: o.delayMs ?? [20, 200],
    maxQueuedBytes: o.maxQueuedBytes ?? 1024 * 1024,
    onFault: o.onFault,
    logger: o.logger,
  };
  if (!Number.isInteger(r.targetPort) || r.targetPort <= 0 || r.targetPort > 65535)
    throw new RangeError(`fault-proxy: bad target port ${r.targetPort}`);
  if (!(r.minIntervalMs >= 0 && r.maxIntervalMs >= r.minIntervalMs))
    throw new RangeError('fault-proxy: need 0 <= minIntervalMs <= maxIntervalMs');
  if (r.kinds.length === 0) throw new RangeError('fault-proxy: kinds must not be empty');
  for (const k of r.kinds)
    if (!ALL_KINDS.includes(k)) throw new RangeError(`fault-proxy: unknown fault kind ${k}`);
  if (!(r.fraction > 0 && r.fraction <= 1))
    throw new RangeError('fault-proxy: fraction must be in (0, 1]');
  if (!(r.stallMs >= 0)) throw new RangeError('fault-proxy: stallMs must be >= 0');
  if (!(r.delayMs[0] >= 0 && r.delayMs[1] >= r.delayMs[0]))
    throw new RangeError('fault-proxy: delayMs must be [lo, hi] with 0 <= lo <= hi');
  if (!(r.maxQueuedBytes > 0)) throw new RangeError('fault-proxy: maxQueuedBytes must be > 0');
  return r;
}

class FaultProxyImpl implements FaultProxy {
  port = 0;
  readonly stats: FaultProxyStats = {
    connections: 0,
    active: 0,
    refused: 0,
    cuts: 0,
    stalls: 0,
    delays: 0,
    bytesUp: 0,
    bytesDown: 0,
    peakQueuedBytes: 0,
  };
  readonly history: FaultEvent[] = [];

  private readonly pairs = new Set<Pair>();
  /** Every socket we own (client and upstream) until it emits 'close'. */
  private readonly sockets = new Set<net.Socket>();
  /** Schedule draws: kind, subset seed, next interval; never touched by traffic. */
  private readonly scheduleRng: () => number;
  /** Per-chunk delays: a separate stream so traffic cannot shift the schedule. */
  private readonly delayRng: () => number;
  private scheduleTimer: NodeJS.Timeout | undefined;
  private running = false;
  private refusing = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private nextPairId = 0;
  private readonly t0 = Date.now();

  constructor(
    private readonly server: net.Server,
    private readonly opts: Resolved,
    seed: number,
  ) {
    this.scheduleRng = mulberry32(seed);
    this.delayRng = mulberry32((seed ^ 0x9e3779b9) >>> 0);
    server.on('connection', (socket) => this.onConnection(socket));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.log('fault schedule started');
    this.arm(this.nextInterval());
  }

  stop(): void {
    const wasRunning = this.running;
    this.running = false;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = undefined;
    for (const pair of this.pairs) {
      pair.delayUntil = 0;
      for (const pipe of [pair.up, pair.down]) for (const c of pipe.queue) c.releaseAt = 0;
      if (pair.stalled) this.releaseStall(pair);
      else {
        this.pump(pair.up);
        this.pump(pair.down);
      }
    }
    if (wasRunning) this.log('fault schedule stopped');
  }

  cutAll(): void {
    this.apply('cut', [...this.pairs], false);
  }

  stallAll(ms: number): void {
    this.apply('stall', [...this.pairs], false, ms);
  }

  delayAll(ms: number, range: [number, number] = this.opts.delayMs): void {
    this.apply('delay', [...this.pairs], false, ms, range);
  }

  refuse(on: boolean): void {
    this.refusing = on;
    this.log(`refuse ${on ? 'on' : 'off'}`);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.stop();
    this.closed = true;
    this.closing = new Promise<void>((resolve) => {
      for (const pair of [...this.pairs]) this.teardown(pair, 'proxy closing');
      const open = [...this.sockets].map(
        (s) =>
          new Promise<void>((done) => {
            s.once('close', () => done());
            s.destroy();
          }),
      );
      this.server.close(() => {
        void Promise.all(open).then(() => {
          this.log('closed');
          resolve();
        });
      });
    });
    return this.closing;
  }

  // --- connections -------------------------------------------------------

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private onConnection(client: net.Socket): void {
    this.track(client);
    if (this.closed || this.refusing) {
      client.on('error', () => {});
      this.stats.refused++;
      this.log(`refused connection from ${client.remotePort}`);
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({
      host: this.opts.host,
      port: this.opts.targetPort,
      allowHalfOpen: true,
    });
    upstream.setNoDelay(true);
    this.track(upstream);
    const pair = new Pair(++this.nextPairId, client, upstream);
    this.pairs.add(pair);
    this.stats.connections++;
    this.stats.active++;
    this.log(`#${pair.id} open (client port ${client.remotePort})`);

    for (const pipe of [pair.up, pair.down]) {
      pipe.src.on('data', (data: Buffer) => this.onData(pipe, data));
      pipe.src.on('end', () => this.onEnd(pipe));
      pipe.src.on('close', (hadError: boolean) => this.onClose(pipe, hadError));
    }
    client.on('error', (err) => this.teardown(pair, `client error ${code(err)}`));
    upstream.on('error', (err) => this.teardown(pair, `upstream error ${code(err)}`));
  }

  private onData(pipe: Pipe, data: Buffer): void {
    const pair = pipe.pair;
    if (pair.closed) return;
    const now = Date.now();
    let releaseAt = 0;
    if (pair.delayUntil > now) {
      const [lo, hi] = pair.delayRange;
      releaseAt = now + lo + this.delayRng() * (hi - lo);
    }
    pipe.queue.push({ data, releaseAt });
    pipe.queuedBytes += data.length;
    if (pipe.queuedBytes > this.stats.peakQueuedBytes)
      this.stats.peakQueuedBytes = pipe.queuedBytes;
    this.pump(pipe);
  }

  private onEnd(pipe: Pipe): void {
    pipe.srcEnded = true;
    if (pipe.pair.closed) return;
    if (pipe.pair.stalled) return this.teardown(pipe.pair, `${pipe.dir} source ended during stall`);
    this.pump(pipe);
  }

  private onClose(pipe: Pipe, hadError: boolean): void {
    pipe.srcClosed = true;
    const pair = pipe.pair;
    if (pair.closed) return;
    const side = pipe.dir === 'up' ? 'client' : 'upstream';
    if (hadError || pair.stalled || !pipe.srcEnded)
      return this.teardown(pair, `${side} closed${pair.stalled ? ' during stall' : ''}`);
    // A clean close: deliver what it sent, FIN the other side, then tear down
    // (pump's end callback does that once the FIN is written).
    if (pipe.dstEnded && pipe.dst.writableFinished) this.teardown(pair, `${side} closed`);
    else this.pump(pipe);
  }

  /** Writes queued chunks that are due, in order, as far as stalls and backpressure allow. */
  private pump(pipe: Pipe): void {
    const pair = pipe.pair;
    if (pipe.timer) clearTimeout(pipe.timer);
    pipe.timer = undefined;
    if (pair.closed || pipe.dstEnded) return;
    while (pipe.queue.length > 0 && !pipe.waitingDrain && !pair.stalled) {
      const head = pipe.queue[0]!;
      const now = Date.now();
      if (head.releaseAt > now) {
        pipe.timer = setTimeout(() => this.pump(pipe), head.releaseAt - now);
        pipe.timer.unref();
        break;
      }
      pipe.queue.shift();
      pipe.queuedBytes -= head.data.length;
      if (pipe.dir === 'up') this.stats.bytesUp += head.data.length;
      else this.stats.bytesDown += head.data.length;
      if (!pipe.dst.write(head.data)) {
        pipe.waitingDrain = true;
        pipe.dst.once('drain', () => {
          pipe.waitingDrain = false;
          this.pump(pipe);
        });
      }
    }
    if (pipe.queue.length === 0 && pipe.srcEnded && !pair.stalled) {
      pipe.dstEnded = true;
      pipe.dst.end(() => {
        if (pipe.srcClosed)
          this.teardown(pair, `${pipe.dir === 'up' ? 'client' : 'upstream'} closed`);
      });
    }
    this.flow(pipe);
  }

  /** Pauses the source while the destination is backed up or too much is queued. */
  private flow(pipe: Pipe): void {
    if (pipe.pair.closed) return;
    const max = this.opts.maxQueuedBytes;
    const pause = pipe.waitingDrain || pipe.queuedBytes >= max;
    if (pause && !pipe.srcPaused) {
      pipe.srcPaused = true;
      pipe.src.pause();
    } else if (!pause && pipe.srcPaused && pipe.queuedBytes < max / 2) {
      pipe.srcPaused = false;
      pipe.src.resume();
    }
  }

  private teardown(pair: Pair, reason: string, reset = false): void {
    if (pair.closed) return;
    pair.closed = true;
    this.pairs.delete(pair);
    this.stats.active--;
    if (pair.stallTimer) clearTimeout(pair.stallTimer);
    for (const pipe of [pair.up, pair.down]) {
      if (pipe.timer) clearTimeout(pipe.timer);
      pipe.queue.length = 0;
      pipe.queuedBytes = 0;
    }
    kill(pair.client, reset);
    kill(pair.upstream, reset);
    this.log(`#${pair.id} closed: ${reason}`);
  }

  // --- faults ------------------------------------------------------------

  private nextInterval(): number {
    const { minIntervalMs: lo, maxIntervalMs: hi } = this.opts;
    return lo + this.scheduleRng() * (hi - lo);
  }

  private arm(ms: number): void {
    this.scheduleTimer = setTimeout(() => this.fire(), ms);
    this.scheduleTimer.unref();
  }

  /**
   * One scheduled fault. Exactly three draws from the schedule PRNG per fault
   * (kind, subset seed, next interval), so the sequence of kinds and intervals
   * depends on the seed only, not on how many connections are open.
   */
  private fire(): void {
    this.scheduleTimer = undefined;
    if (!this.running) return;
    const { kinds } = this.opts;
    const kind = kinds[Math.floor(this.scheduleRng() * kinds.length)]!;
    const subsetRng = mulberry32(Math.floor(this.scheduleRng() * 4294967296));
    const next = this.nextInterval();
    const live = [...this.pairs];
    const chosen = live.filter(() => subsetRng() < this.opts.fraction);
    if (chosen.length === 0 && live.length > 0)
      chosen.push(live[Math.floor(subsetRng() * live.length)]!);
    const duration = kind === 'stall' ? this.opts.stallMs : next;
    this.apply(kind, chosen, true, duration);
    if (this.running) this.arm(next);
  }

  private apply(
    kind: FaultKind,
    pairs: Pair[],
    scheduled: boolean,
    ms = 0,
    range: [number, number] = this.opts.delayMs,
  ): void {
    const event: FaultEvent = { kind, at: Date.now() - this.t0, pairs: pairs.length, scheduled };
    this.history.push(event);
    const ids = pairs.map((p) => `#${p.id}`).join(',') || 'none';
    this.log(
      `${scheduled ? 'scheduled' : 'manual'} ${kind}${kind === 'cut' ? '' : ` ${Math.round(ms)}ms`} on ${ids}`,
    );
    for (const pair of pairs) {
      if (kind === 'cut') {
        this.stats.cuts++;
        this.teardown(pair, 'cut', true);
      } else if (kind === 'stall') {
        this.stats.stalls++;
        this.stall(pair, ms);
      } else {
        this.stats.delays++;
        pair.delayUntil = Math.max(pair.delayUntil, Date.now() + ms);
        pair.delayRange = range;
      }
    }
    if (this.opts.onFault) {
      try {
        this.opts.onFault(event);
      } catch (err) {
        this.log(`onFault threw: ${String(err)}`);
      }
    }
  }

  private stall(pair: Pair, ms: number): void {
    if (pair.closed) return;
    const end = Date.now() + ms;
    if (pair.stalled && pair.stallEnd >= end) return;
    if (pair.stallTimer) clearTimeout(pair.stallTimer);
    pair.stalled = true;
    pair.stallEnd = end;
    pair.stallTimer = setTimeout(() => this.releaseStall(pair), ms);
    pair.stallTimer.unref();
  }

  private releaseStall(pair: Pair): void {
    if (pair.stallTimer) clearTimeout(pair.stallTimer);
    pair.stallTimer = undefined;
    pair.stalled = false;
    pair.stallEnd = 0;
    if (pair.closed) return;
    this.pump(pair.up);
    this.pump(pair.down);
  }

  private log(line: string): void {
    this.opts.logger?.(`[fault-proxy :${this.port}] ${line}`);
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/** Destroys a socket; with `reset`, sends RST (an abrupt cut) when it can. */
function kill(socket: net.Socket, reset: boolean): void {
  if (socket.destroyed) return;
  if (reset && !socket.connecting) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle any more: fall back to a plain destroy.
    }
  }
  socket.destroy();
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const opts = resolveOptions(options);
  const server = net.createServer({ allowHalfOpen: true });
  const proxy = new FaultProxyImpl(server, opts, options.seed);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger?.(`[fault-proxy] server error ${code(err)}`));
  proxy.port = (server.address() as AddressInfo).port;
  opts.logger?.(
    `[fault-proxy :${proxy.port}] listening, forwarding to ${opts.host}:${opts.targetPort}`,
  );
  if (options.faults) proxy.start();
  return proxy;
}
