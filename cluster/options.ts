// Options shared by every cluster engine, applied once, failing fast with an
// RxwireTypeError that names the option.
import { hkdfSync, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCode, RxwireTypeError } from '../src/protocol/index.js';
import type { Cluster, ClusterBinding, ClusterHost } from '../server/cluster.js';
import { NODE_ID } from './engine.js';

/** Options every cluster engine takes (see `redisCluster`, `memoryCluster`). */
export interface ClusterOptions {
  /**
   * This node's id: unique in the cluster, stable for the life of the
   * process (a restarted process is a new node). Letters, digits and `._:-`,
   * at most 64.
   * @default `${hostname}-${pid}-${random}` // sanitized
   */
  nodeId?: string;
  /**
   * How long a node counts as alive after its last heartbeat, in ms; it
   * beats every `nodeTtl / 3`. A node killed outright (`kill -9`) is noticed
   * within about `nodeTtl * 4 / 3`: its sessions leave `presence`, and their
   * clients get new sessions elsewhere.
   * @default 10_000 // 10 seconds
   */
  nodeTtl?: number;
  /**
   * How long a node taking a session over waits for the node that holds it
   * to hand it over. Past it the resuming client is told to come back (close
   * 1013) and the next attempt asks again.
   * @default 5_000 // 5 seconds
   */
  handoverTimeout?: number;
  /**
   * How long `sendTo` keeps trying to reach a session on another node while
   * Redis is unreachable or the session is moving, before it rejects with
   * RXWIRE_CLUSTER_UNAVAILABLE.
   * @default 30_000 // 30 seconds
   */
  sendTimeout?: number;
  /**
   * Broadcasts kept in the cluster's log (approximately: Redis trims in
   * whole blocks). A session that moves replays the broadcasts it missed
   * from it, so keep at least `recoveryWindow` worth.
   * @default 10_000
   */
  broadcastHistory?: number;
}

/** The options with every default applied. */
export interface ResolvedClusterOptions {
  nodeId: string;
  nodeTtl: number;
  handoverTimeout: number;
  sendTimeout: number;
  broadcastHistory: number;
  /** HMAC key of resume tokens, derived from the shared secret. */
  resumeKey: Uint8Array;
}

/** Applies the defaults; `secret` is the shared secret (already checked by the engine's factory). */
export function resolveClusterOptions(
  options: ClusterOptions,
  secret: Uint8Array,
): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const nodeId = options.nodeId ?? defaultNodeId();
  if (typeof nodeId !== 'string' || !NODE_ID.test(nodeId)) {
    fail(`\`nodeId\` must be 1-64 letters, digits or ._:- (got ${JSON.stringify(nodeId)})`);
  }
  return {
    nodeId,
    nodeTtl: atLeast('nodeTtl', options.nodeTtl ?? 10_000, 30),
    handoverTimeout: atLeast('handoverTimeout', options.handoverTimeout ?? 5_000, 1),
    sendTimeout: atLeast('sendTimeout', options.sendTimeout ?? 30_000, 1),
    broadcastHistory: atLeast('broadcastHistory', options.broadcastHistory ?? 10_000, 1),
    resumeKey: deriveResumeKey(secret),
  };
}

/** Minimum length of the shared secret, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** The shared secret as bytes, refused when missing or shorter than {@link MIN_SECRET_BYTES}. */
export function secretBytes(secret: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (typeof secret === 'string') bytes = new TextEncoder().encode(secret);
  else if (secret instanceof Uint8Array) bytes = secret;
  else {
    return fail(
      '`secret` is required: a string or Uint8Array of at least 32 bytes, the same on every node',
    );
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    fail(
      `\`secret\` must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}): use for example \`openssl rand -base64 48\``,
    );
  }
  return bytes;
}

/**
 * The resume-token key every node derives from the shared secret (HKDF-SHA256),
 * so a token issued on one node verifies on any other, and the secret itself
 * is never used as an HMAC key directly.
 */
export function deriveResumeKey(secret: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'rxwire', 'rxwire resume token v1', 32));
}

function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 32) || 'node';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function atLeast(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(`\`${name}\` must be a number ≥ ${min} (got ${String(value)})`);
  }
  return value;
}

/** An invalid cluster option: RxwireTypeError RXWIRE_INVALID_OPTION. */
export function fail(message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, message);
}

/**
 * The cluster object a factory returns: `make` binds it to the one server
 * it serves; a second server gets an error naming `factory`.
 */
export function bindOnce(factory: string, make: (host: ClusterHost) => ClusterBinding): Cluster {
  let bound = false;
  return {
    bind(host: ClusterHost): ClusterBinding {
      if (bound) fail(`a cluster object serves one server: call ${factory}() once per server`);
      bound = true;
      return make(host);
    },
  };
}
