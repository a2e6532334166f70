// The `rxwire/cluster` entry point: run servers as nodes of one cluster.
// `redis` (node-redis) is an optional peer dependency, loaded only when a
// Redis cluster connects; `memoryCluster` needs nothing.
export { redisCluster, type RedisClusterOptions } from './redis.js';
export type { RedisClientLike } from './redis-engine.js';
export { memoryCluster, type MemoryClusterOptions } from './memory.js';
export { MemoryHub } from './memory-engine.js';
export type { ClusterOptions } from './options.js';
export type {
  Cluster,
  ClusterStats,
  DrainOptions,
  PresenceEntry,
  RemoteSession,
} from '../server/cluster.js';
