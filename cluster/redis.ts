// `redisCluster()`: a cluster whose store is one Redis (≥ 7.0) shared by every node.
import type { Cluster } from '../server/cluster.js';
import { ErrorCode, RxwireTypeError } from '../src/protocol/index.js';
import { ClusterNode } from './node.js';
import {
  bindOnce,
  fail,
  resolveClusterOptions,
  secretBytes,
  type ClusterOptions,
} from './options.js';
import { RedisEngine, type RedisClientLike } from './redis-engine.js';

/** Options of {@link redisCluster}. */
export interface RedisClusterOptions extends ClusterOptions {
  /**
   * The Redis to use, e.g. `redis://10.0.0.5:6379` (`rediss://` for TLS).
   * rxwire makes two connections per node from it and owns them. Mutually
   * exclusive with `client`.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * A node-redis client (`createClient()` from `redis`, connected or not) to
   * use for commands instead of `url`; rxwire duplicates it for pub/sub and
   * leaves the client itself open when the server closes. Give it
   * `disableOfflineQueue: true` so cluster operations fail fast during an
   * outage instead of queueing. Mutually exclusive with `url`.
   */
  client?: RedisClientLike;
  /**
   * A secret shared by every node, at least 32 bytes (a string is measured in
   * UTF-8 bytes): resume tokens are an HMAC under a key derived from it, so a
   * token issued by one node is accepted by any other. Required.
   */
  secret: string | Uint8Array;
  /**
   * Prefix of every Redis key and channel the cluster uses (several clusters
   * can share one Redis with different prefixes).
   * @default 'rxwire'
   */
  prefix?: string;
}

/**
 * A cluster on Redis: pass it to `createServer({ cluster })` on every node.
 * Sessions then move between nodes when their clients reconnect elsewhere,
 * with nothing lost or repeated; `broadcast`, `sendTo` and `presence` span
 * the cluster; `drain()` hands a node's sessions to the others. Needs the
 * `redis` package (an optional peer dependency) and Redis ≥ 7.0.
 *
 * @example
 * ```ts
 * const server = createServer<ChatProtocol>({
 *   server: http,
 *   cluster: redisCluster({ url: process.env.REDIS_URL, secret: process.env.RXWIRE_CLUSTER_SECRET! }),
 * });
 * ```
 */
export function redisCluster(options: RedisClusterOptions): Cluster {
  if (typeof options !== 'object' || options === null) {
    throw new RxwireTypeError(ErrorCode.InvalidOption, 'redisCluster needs an options object');
  }
  const secret = secretBytes(options.secret);
  if (options.url !== undefined && options.client !== undefined) {
    fail('give `url` or `client`, not both');
  }
  if (
    options.url !== undefined &&
    (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))
  ) {
    fail(`\`url\` must be a redis:// or rediss:// URL (got ${JSON.stringify(options.url)})`);
  }
  const client = options.client;
  if (
    client !== undefined &&
    (typeof client !== 'object' || typeof client.duplicate !== 'function')
  ) {
    fail('`client` must be a node-redis client (createClient() from `redis`)');
  }
  const prefix = options.prefix ?? 'rxwire';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(prefix)) {
    fail(`\`prefix\` must be 1-64 letters, digits or ._:- (got ${JSON.stringify(prefix)})`);
  }
  const resolved = resolveClusterOptions(options, secret);
  return bindOnce('redisCluster', (host) => {
    const source =
      client !== undefined ? { client } : { url: options.url ?? 'redis://127.0.0.1:6379' };
    return new ClusterNode(host, new RedisEngine(source, prefix, host.options.logger), resolved);
  });
}
