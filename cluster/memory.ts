// `memoryCluster()`: a cluster whose store is a MemoryHub in this process.
import type { Cluster, ClusterBinding, ClusterHost } from '../server/cluster.js';
import { ErrorCode, RxwireTypeError } from '../src/protocol/index.js';
import { MemoryHub } from './memory-engine.js';
import { ClusterNode } from './node.js';
import { resolveClusterOptions, secretBytes, type ClusterOptions } from './options.js';

/** Options of {@link memoryCluster}. */
export interface MemoryClusterOptions extends ClusterOptions {
  /** The shared state: the same hub for every server of the cluster. */
  hub: MemoryHub;
  /**
   * The shared secret resume tokens derive from (at least 32 bytes).
   * @default the hub's own random secret
   */
  secret?: string | Uint8Array;
}

/**
 * A cluster in one process, for tests: several servers given the same
 * {@link MemoryHub} behave as nodes of one cluster (sessions move between
 * them, `broadcast`, `sendTo` and `presence` span them), exactly as with
 * `redisCluster`, without Redis. The hub can play an outage and an empty restart.
 *
 * @example
 * ```ts
 * const hub = new MemoryHub();
 * const a = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'a' }) });
 * const b = createServer({ port: 0, cluster: memoryCluster({ hub, nodeId: 'b' }) });
 * await b.sendTo(sessionOnA, 'notice', { text: 'hi' });
 * ```
 */
export function memoryCluster(options: MemoryClusterOptions): Cluster {
  if (typeof options !== 'object' || options === null || !(options.hub instanceof MemoryHub)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      '`hub` is required: a MemoryHub shared by every server of the cluster',
    );
  }
  const secret = options.secret === undefined ? options.hub.secret : secretBytes(options.secret);
  const resolved = resolveClusterOptions(options, secret);
  let bound = false;
  return {
    bind(host: ClusterHost): ClusterBinding {
      if (bound) {
        throw new RxwireTypeError(
          ErrorCode.InvalidOption,
          'a cluster object serves one server: call memoryCluster() once per server',
        );
      }
      bound = true;
      return new ClusterNode(host, options.hub.engine(), resolved);
    },
  };
}
