// Broadcast fan-out, on one server (`fanout`) or on several nodes of a
// cluster on one Redis (`cluster-broadcast`): one node broadcasts, every
// client of every node must get each broadcast once, in order.
import { setTimeout as sleep } from 'node:timers/promises';
import { per, startClients, startServers, syscallsBetween } from './processes.mjs';

/**
 * One server (or `nodes` servers in a cluster on `redis`, started by the
 * caller; `env` tells the servers where it is) broadcasting to
 * cfg.fanoutClients clients in cfg.fanoutProcesses load generators, spread
 * over the nodes, as fast as delivery keeps up: the first node sends while
 * fewer than cfg.fanoutCredit broadcasts are in flight, i.e. sent but not yet
 * delivered to every client (the load generators report their progress; this
 * relays it). Server CPU and system calls are summed over the nodes; with a
 * Redis, its CPU per delivery and its commands per broadcast are reported too.
 */
export async function fanoutRun(stack, cfg, { nodes = 1, env = {}, redis = null } = {}) {
  const servers = await startServers(stack, nodes, env);
  const [origin] = servers;
  const clients = startClients(stack, servers, cfg.fanoutProcesses, cfg.fanoutClients, {
    scenario: 'fanout',
    every: cfg.fanoutEvery,
  });
  await Promise.all(clients.map((c) => c.wait('connected', 120_000)));
  // In a cluster the origin must know every node's clients before the first
  // broadcast (rxwire: presence; Socket.IO: the adapter answering fetchSockets).
  if (nodes > 1) await untilClusterSize(origin, cfg.fanoutClients);
  const reached = clients.map(() => 0);
  for (const [i, c] of clients.entries()) {
    c.on('reached', ({ reached: n }) => {
      reached[i] = n;
      origin.send({ cmd: 'credit', upTo: Math.min(...reached) + cfg.fanoutCredit });
    });
  }
  origin.send({ cmd: 'fanout', size: cfg.fanoutSize, credit: cfg.fanoutCredit });
  const read = async () => {
    const [counts, cpus, { count }, redisCalls] = await Promise.all([
      Promise.all(clients.map((c) => c.ask({ cmd: 'count' }, 'count'))),
      Promise.all(servers.map((s) => s.ask({ cmd: 'cpu' }, 'cpu'))),
      origin.ask({ cmd: 'count' }, 'count'),
      redis?.calls() ?? null,
    ]);
    const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);
    const syscalls = cpus.some((c) => c.syscalls === null)
      ? null
      : {
          reads: sum(cpus, (c) => c.syscalls.reads),
          writes: sum(cpus, (c) => c.syscalls.writes),
        };
    return {
      deliveries: sum(counts, (m) => m.count.deliveries),
      cpu: sum(cpus, (c) => c.cpu),
      nodeCpu: cpus.map((c) => c.cpu),
      redisCpu: redis?.cpu() ?? null,
      redisCalls,
      syscalls,
      clientCpu: sum(counts, (m) => m.count.cpu),
      broadcasts: count.broadcasts,
      // rxwire in a cluster: sent, not yet appended to the cluster's log.
      logBacklog: count.appended === null ? null : count.broadcasts - count.appended,
      waitedMs: count.waitedMs,
      loopActiveMs: count.loopActiveMs,
      t: count.t,
    };
  };
  await sleep(cfg.fanoutWarmMs);
  const a = await read();
  await sleep(cfg.fanoutTimedMs);
  const b = await read();
  origin.send({ cmd: 'fanout-stop' });
  for (const c of clients) c.send({ cmd: 'stop' });
  await Promise.all(clients.map((c) => c.wait('result')));
  await Promise.all(clients.map((c) => c.stop()));
  await Promise.all(servers.map((s) => s.stop()));
  const ms = b.t - a.t;
  const deliveries = b.deliveries - a.deliveries;
  const { reads, writes } = syscallsBetween(a, b);
  return {
    value: (deliveries * 1000) / ms,
    serverCpu: (b.cpu - a.cpu) / deliveries,
    // Per node, the origin first: who pays for a broadcast across the cluster.
    nodeCpu: b.nodeCpu.map((cpu, i) => (cpu - a.nodeCpu[i]) / deliveries),
    redisCpu: redis === null || a.redisCpu === null ? null : (b.redisCpu - a.redisCpu) / deliveries,
    // Redis commands per broadcast, every node's (and the two INFO readings).
    redisCallsPerBroadcast:
      redis === null ? null : (b.redisCalls - a.redisCalls) / (b.broadcasts - a.broadcasts),
    clientCpu: (b.clientCpu - a.clientCpu) / deliveries,
    serverReads: per(reads, deliveries),
    serverWrites: per(writes, deliveries),
    broadcasts: ((b.broadcasts - a.broadcasts) * 1000) / ms,
    waitedShare: (b.waitedMs - a.waitedMs) / ms,
    // Of the broadcasts in flight, how many waited in the broadcasting node for the log (mean of the two readings).
    logBacklog: a.logBacklog === null ? null : (a.logBacklog + b.logBacklog) / 2,
    // CPU time over wall time: 1 is one core busy all the window.
    serverBusy: (b.cpu - a.cpu) / 1000 / ms,
    serverLoopActive: (b.loopActiveMs - a.loopActiveMs) / ms,
    clientsBusy: (b.clientCpu - a.clientCpu) / 1000 / ms,
  };
}

/** Resolves once `server` counts `n` connected sessions across the cluster (polls; 60 s at most). */
export async function untilClusterSize(server, n, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { clusterSize } = await server.ask({ cmd: 'cluster-size' }, 'clusterSize');
    if (clusterSize === n) return;
    if (Date.now() > deadline) {
      throw new Error(`the cluster counts ${clusterSize} connected sessions, not ${n}`);
    }
    await sleep(100);
  }
}
