// The scenarios across nodes of issues 17 and 20, on a private redis-server
// (bench/redis.mjs): cluster-broadcast (rxwire/cluster against Socket.IO with
// @socket.io/redis-adapter) and cluster-handover (rxwire only: a drained
// node's sessions resume on the others). See bench/README.md.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fanoutRun, untilClusterSize } from './fanout.mjs';
import { loadGenerator, startServers } from './processes.mjs';
import { startRedis } from './redis.mjs';
import { percentile } from './stats.mjs';

/** True when the build in `dist` (a dist/cjs directory) has rxwire/cluster. */
export const hasCluster = (dist) => existsSync(join(dist, 'cluster/index.js'));

/** What the server processes of a cluster need to join it (see bench/cluster-node.mjs). */
const clusterEnv = (redis) => ({
  BENCH_REDIS_URL: redis.url,
  BENCH_CLUSTER_SECRET: randomBytes(32).toString('base64'),
});

/** `fn(redis)` with a fresh private redis-server, stopped afterwards. */
async function withRedis(fn) {
  const redis = await startRedis();
  try {
    return await fn(redis);
  } finally {
    await redis.stop();
  }
}

/**
 * cfg.clusterNodes nodes on one Redis, cfg.fanoutClients clients spread over
 * them; the first node broadcasts as in fanout (bounded credit), every
 * client checks it gets every broadcast once and in order.
 */
export const clusterBroadcastRun = (stack, cfg) =>
  withRedis((redis) =>
    fanoutRun(stack, cfg, { nodes: cfg.clusterNodes, env: clusterEnv(redis), redis }),
  );

/** Polls `check()` (async; truthy ends it) every `everyMs` until it holds; false past `timeoutMs`. */
async function until(check, timeoutMs, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * The variants of cluster-handover: whether the sessions move between nodes
 * of a cluster (the first node drains) or stay on one server without a
 * cluster (every client's socket is cut at once, and it resumes there: the
 * floor of the handover figure on this harness), and the clients' options.
 */
const HANDOVER = {
  rxwire: { cluster: true, client: {} },
  'rxwire-jitter0': { cluster: true, client: { jitter: 0 } },
  'rxwire-same-node': { cluster: false, client: {} },
};

/**
 * cluster-handover: cfg.handoverSessions rxwire sessions on the first of
 * cfg.clusterNodes nodes, with numbered messages flowing both ways and a
 * broadcast every cfg.handoverEveryMs; then that node drains, and every
 * client reconnects to another node (the next URL of its list) and resumes
 * there. Reports the hello→welcome times of the resuming connections, how
 * many resumed, the CPU a move costs, and fails unless every message arrived
 * exactly once and in order across the move. Variants: see HANDOVER
 * ('rxwire-jitter0': `reconnect: {jitter: 0}`, the clients come back together).
 */
export function handoverRun(variant, cfg) {
  const { cluster, client } = HANDOVER[variant];
  return cluster
    ? withRedis((redis) => handover(cfg, cfg.clusterNodes, redis, client))
    : handover(cfg, 1, null, client);
}

async function handover(cfg, nodeCount, redis, clientOptions) {
  const env = redis === null ? {} : clusterEnv(redis);
  const n = cfg.handoverSessions;
  const nodes = await startServers('rxwire', nodeCount, { ...env, BENCH_HANDOVER: '1' });
  const [first, sender = first, ticker = sender] = nodes;
  const clients = Array.from({ length: cfg.handoverProcesses }, () =>
    loadGenerator('handover-client.mjs', [
      JSON.stringify({
        ports: nodes.map((s) => s.port),
        connections: n / cfg.handoverProcesses,
        everyMs: cfg.handoverEveryMs,
        ...clientOptions,
      }),
    ]),
  );
  try {
    await Promise.all(clients.map((c) => c.wait('connected', 120_000)));
    // The sender addresses every session in the cluster's presence: wait until it has them all.
    await untilClusterSize(sender, n);
    await untilClusterSize(ticker, n);
    sender.send({ cmd: 'traffic', role: 'sender', everyMs: cfg.handoverEveryMs });
    ticker.send({ cmd: 'traffic', role: 'ticker', everyMs: cfg.handoverEveryMs });
    for (const c of clients) c.send({ cmd: 'traffic' });
    await sleep(cfg.handoverWarmMs);
    const startCpu = await reading(nodes, clients, redis);

    const since = Date.now();
    let drained = Promise.resolve({ drained: null });
    if (nodeCount > 1) drained = first.ask({ cmd: 'drain' }, 'drained');
    else for (const c of clients) c.send({ cmd: 'cut' });
    drained.catch(() => undefined); // awaited below, once every client is back
    let status;
    const moved = await until(async () => {
      const all = await Promise.all(clients.map((c) => c.ask({ cmd: 'status' }, 'status')));
      status = all.reduce(
        (s, { status: x }) => ({
          moved: s.moved + x.moved,
          resumed: s.resumed + x.resumed,
          gaveUp: s.gaveUp + x.gaveUp,
        }),
        { moved: 0, resumed: 0, gaveUp: 0 },
      );
      return status.moved + status.gaveUp >= n;
    }, 60_000);
    const allMovedMs = Date.now() - since;
    if (!moved || status.gaveUp > 0) {
      throw new Error(`cluster-handover: ${status.moved} of ${n} moved, ${status.gaveUp} gave up`);
    }
    const movedCpu = await reading(nodes, clients, redis);
    const { drained: drainMs, error: drainError } = await drained;
    if (drainError !== undefined)
      throw new Error(`cluster-handover: drain() failed: ${drainError}`);
    await sleep(cfg.handoverAfterMs);
    // What the traffic alone costs, once every session has moved.
    const afterCpu = await reading(nodes, clients, redis);

    // Stop the traffic, then wait until everything sent has arrived.
    await Promise.all([
      ...clients.map((c) => c.ask({ cmd: 'quiet' }, 'quiet')),
      ...[...new Set([sender, ticker])].map((s) => s.ask({ cmd: 'quiet' }, 'quiet')),
    ]);
    let problems;
    let reports;
    await until(async () => {
      reports = await collect(clients, nodes);
      problems = verify(reports, nodes.indexOf(sender), nodes.indexOf(ticker));
      return problems.length === 0;
    }, 20_000);
    if (problems.length > 0) {
      throw new Error(
        `cluster-handover: ${problems.length} problems, e.g.\n  ${problems.slice(0, 10).join('\n  ')}`,
      );
    }

    const moves = reports.clients.map((c) => c.moves.at(-1));
    const sorted = moves.map((m) => m.ms).sort((x, y) => x - y);
    const cost = moveCost(startCpu, movedCpu, afterCpu, n);
    return {
      value: percentile(sorted, 99),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1),
      resumed: moves.filter((m) => m.resumed).length,
      sessions: n,
      drainMs,
      allMovedMs,
      nodeCpuPerMove: cost.first + cost.others,
      // The drained node's share (a same-node resume: all of it), and the receiving nodes'.
      firstCpuPerMove: cost.first,
      othersCpuPerMove: cost.others,
      clientCpuPerMove: cost.clients,
      redisCallsPerMove: redis === null ? null : cost.redis,
      // Connection attempts after the first, all clients: n when each went straight to a node that took it.
      attempts: reports.clients.reduce((k, c) => k + c.attempts - 1, 0),
      movedIn: reports.nodes.slice(1).map((r) => r.movedIn),
      messages: {
        up: reports.clients.reduce((k, c) => k + c.upSent, 0),
        down: reports.clients.reduce((k, c) => k + c.down, 0),
        ticks: reports.nodes[nodes.indexOf(ticker)].ticks,
      },
      logged: reports.nodes.map((r) => r.log),
    };
  } finally {
    for (const c of clients) c.send({ cmd: 'stop' });
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(nodes.map((s) => s.stop()));
  }
}

/**
 * CPU time so far (µs), and when: the first node's (the one drained), the
 * other nodes' summed, and every load generator's summed; with a Redis, the
 * commands it has run.
 */
async function reading(nodes, clients, redis) {
  const [n, c, calls] = await Promise.all([
    Promise.all(nodes.map((s) => s.ask({ cmd: 'cpu' }, 'cpu'))),
    Promise.all(clients.map((s) => s.ask({ cmd: 'cpu' }, 'cpu'))),
    redis?.calls() ?? 0,
  ]);
  const sum = (xs) => xs.reduce((k, x) => k + x.cpu, 0);
  return {
    t: performance.now(),
    first: n[0].cpu,
    others: sum(n.slice(1)),
    clients: sum(c),
    redis: calls,
  };
}

/**
 * What a move costs per session: CPU ms on the first node, the other nodes
 * and the load generators, and Redis commands. What was spent from the drain
 * (or the cut) until every client was connected again, less what the traffic
 * alone costs over as long (its rate in the window after the move), ÷ sessions.
 */
function moveCost(start, moved, after, sessions) {
  const scale = (moved.t - start.t) / (after.t - moved.t);
  const cost = (k) => (moved[k] - start[k] - (after[k] - moved[k]) * scale) / sessions;
  return {
    first: cost('first') / 1000,
    others: cost('others') / 1000,
    clients: cost('clients') / 1000,
    redis: cost('redis'),
  };
}

/** Every client's and every node's report. */
async function collect(clients, nodes) {
  const [fromClients, fromNodes] = await Promise.all([
    Promise.all(clients.map((c) => c.ask({ cmd: 'report' }, 'report'))),
    Promise.all(nodes.map((s) => s.ask({ cmd: 'handover-report' }, 'report'))),
  ]);
  return {
    clients: fromClients.flatMap((m) => m.report),
    nodes: fromNodes.map((m) => m.report),
  };
}

/**
 * What did not arrive exactly once and in order: each client's `down` count
 * must equal the sender's resolved sendTo calls to it and its `tick` count
 * the ticker's broadcasts (each client checked the order itself); its `up`
 * messages, as the nodes saw them, must join up to 1 … upSent, each once.
 */
function verify({ clients, nodes }, senderIndex, tickerIndex) {
  const problems = [];
  const senderReport = nodes[senderIndex];
  const tickerReport = nodes[tickerIndex];
  for (const r of nodes) {
    problems.push(...r.breaks, ...r.failures);
  }
  for (const c of clients) {
    const sent = senderReport.sent[c.sid] ?? 0;
    if (c.down !== sent) problems.push(`${c.sid}: ${c.down} down of ${sent} sent`);
    if (c.tick !== tickerReport.ticks) {
      problems.push(`${c.sid}: ${c.tick} ticks of ${tickerReport.ticks}`);
    }
    const segments = nodes
      .map((r) => r.ups[c.sid])
      .filter((s) => s !== undefined)
      .sort((x, y) => x.first - y.first);
    let next = 1;
    for (const s of segments) {
      if (s.first !== next || s.count !== s.last - s.first + 1) {
        problems.push(
          `${c.sid}: up ${s.first}–${s.last} (${s.count}) on a node, expected ${next} next`,
        );
      }
      next = s.last + 1;
    }
    if (next !== c.upSent + 1) problems.push(`${c.sid}: up arrived to ${next - 1} of ${c.upSent}`);
    if (c.moves.length === 0) problems.push(`${c.sid}: never reconnected`);
  }
  return problems;
}
