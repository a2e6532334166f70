// The server side of the scenarios across nodes (cluster-broadcast,
// cluster-handover), for bench/server.mjs: joining a cluster on the Redis
// that run.mjs started (rxwire/cluster's redisCluster, or Socket.IO's
// @socket.io/redis-adapter), and the handover scenario's application traffic.
// run.mjs passes the cluster in the environment:
//   BENCH_REDIS_URL        redis://127.0.0.1:<port> of the private redis-server
//   BENCH_CLUSTER_SECRET   the secret every rxwire node shares (≥ 32 bytes)
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);

/** The cluster this server joins ({url, secret}), or null for a single server. */
export function clusterEnv() {
  const url = process.env.BENCH_REDIS_URL;
  if (url === undefined) return null;
  return { url, secret: process.env.BENCH_CLUSTER_SECRET ?? '' };
}

/**
 * A logger for a clustered rxwire server: warnings and errors go to stderr
 * (the first 20, then only counted: a handover of 1,000 sessions must not
 * flood the run log), info is dropped. `counts` says how many there were.
 */
export function stderrLogger(label) {
  const counts = { warn: 0, error: 0 };
  const write = (level) => (message, fields) => {
    counts[level] += 1;
    if (counts.warn + counts.error > 20) return;
    console.error(`[${label} ${level}] ${message} ${fields ? JSON.stringify(fields) : ''}`);
  };
  return { logger: { warn: write('warn'), error: write('error') }, counts };
}

/**
 * `redisCluster(...)` from the build under test (rxwire/cluster of `dist`).
 * Throws a plain error naming the build when it has no rxwire/cluster.
 */
export function rxwireCluster(dist, { url, secret }) {
  let entry;
  try {
    entry = require(`${dist}/cluster/index.js`);
  } catch (error) {
    throw new Error(`the build in ${dist} has no rxwire/cluster (${error.message})`);
  }
  return entry.redisCluster({ url, secret });
}

/** Resolves once a clustered rxwire server's store answers (`server.cluster.state` 'up'). */
export async function untilClusterUp(server, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (server.cluster?.state !== 'up') {
    if (Date.now() > deadline) {
      throw new Error(`cluster still '${server.cluster?.state}' after ${timeoutMs} ms`);
    }
    await sleep(20);
  }
}

/**
 * Socket.IO's Redis adapter on two node-redis connections (commands and
 * pub/sub), as its documentation sets it up: `io.adapter(adapter)`.
 * `close()` ends both connections.
 */
export async function socketioAdapter({ url }) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (error) => console.error(`redis: ${error.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub),
    close: () => Promise.all([pub.quit(), sub.quit()]).catch(() => undefined),
  };
}

/**
 * The application of cluster-handover on one rxwire node. Every node checks
 * the numbered `up` messages each session sends it (`watch`); one node sends
 * each session numbered `down` messages with `server.sendTo` (`sender`), one
 * broadcasts numbered `tick`s (`ticker`). `report()` gives what each saw and
 * sent, for run.mjs to join across nodes: a session's `up` messages arrive
 * on the node it started on, then on the one it moved to, and together they
 * must be 1, 2, 3 … exactly once.
 */
export class HandoverTraffic {
  /** `logCounts`: the server logger's warnings and errors so far (see stderrLogger), if any. */
  constructor(server, logCounts = null) {
    this.server = server;
    this.logCounts = logCounts;
    /** Per session: the first and last `up` seen here, and how many. */
    this.ups = new Map();
    /** `up` messages out of order or repeated on this node. */
    this.breaks = [];
    /** Per session: `down` messages whose sendTo resolved. */
    this.sent = new Map();
    /** sendTo calls that rejected. */
    this.failures = [];
    this.ticks = 0;
    this.running = false;
    this.loops = [];
    this.ticker = null;
    this.movedIn = 0;
  }

  /** Checks the `up` messages of a session of this node (started here or moved in). */
  watch(session) {
    if (session.movedFrom !== undefined) this.movedIn += 1;
    session.on('up').subscribe(({ n }) => {
      const r = this.ups.get(session.id);
      if (r === undefined) {
        this.ups.set(session.id, { first: n, last: n, count: 1 });
        return;
      }
      if (n !== r.last + 1 && this.breaks.length < 20) {
        this.breaks.push(`${session.id}: up ${n} after ${r.last}`);
      }
      r.last = n;
      r.count += 1;
    });
  }

  /**
   * Starts this node's share of the traffic: 'sender' sends `down` to every
   * session of the cluster (`server.presence`), each session's messages one
   * after another, one every `everyMs`; 'ticker' broadcasts a `tick` every
   * `everyMs`.
   */
  start(role, everyMs) {
    this.running = true;
    if (role === 'ticker') {
      this.ticker = setInterval(() => {
        try {
          this.server.broadcast('tick', { n: this.ticks + 1 });
          this.ticks += 1;
        } catch (error) {
          this.failures.push(`broadcast tick ${this.ticks + 1}: ${error.code ?? error.message}`);
        }
      }, everyMs);
      return;
    }
    for (const { sessionId } of this.server.presence) {
      this.loops.push(this.sendLoop(sessionId, everyMs));
    }
  }

  async sendLoop(sid, everyMs) {
    // Spread the sessions over the interval instead of sending to all at once.
    await sleep(Math.random() * everyMs);
    let n = 0;
    while (this.running) {
      try {
        await this.server.sendTo(sid, 'down', { n: n + 1 });
      } catch (error) {
        this.failures.push(`${sid}: sendTo down ${n + 1}: ${error.code ?? error.message}`);
        return;
      }
      n += 1;
      this.sent.set(sid, n);
      await sleep(everyMs);
    }
  }

  /** Stops sending; resolves once every sendTo in flight has settled. */
  async quiet() {
    this.running = false;
    clearInterval(this.ticker);
    await Promise.all(this.loops);
  }

  report() {
    return {
      ups: Object.fromEntries(this.ups),
      breaks: this.breaks,
      sent: Object.fromEntries(this.sent),
      failures: this.failures.slice(0, 20),
      failureCount: this.failures.length,
      ticks: this.ticks,
      movedIn: this.movedIn,
      cluster: this.server.cluster,
      log: this.logCounts,
    };
  }
}
