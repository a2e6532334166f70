// What the server core and a cluster engine promise each other. `rxwire/server`
// holds only these types and the single-node behaviour; the engines (Redis,
// in memory) live in `rxwire/cluster`, which a server without `cluster` never
// loads.
import type { Observable } from 'rxjs';
import type { SessionRecord } from './handover.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { ServerSession } from './session.js';
import type { SessionClose } from './session-types.js';

/**
 * One live session of the cluster, as `server.presence` lists it: connected,
 * or waiting for its client to resume (`connected: false`).
 */
export interface PresenceEntry {
  readonly sessionId: string;
  /** Who the session belongs to: the server's `userKey(user)`. */
  readonly userKey: string;
  /** The node that holds the session now. */
  readonly nodeId: string;
  readonly connected: boolean;
}

/**
 * A session held by another node, as a broadcast `filter` sees it on a
 * clustered server: who it is, where it is, and whether it is connected.
 * Its `user` crossed the network as JSON.
 */
export interface RemoteSession<U = unknown> {
  readonly remote: true;
  readonly id: string;
  readonly user: U;
  readonly nodeId: string;
  readonly connected: boolean;
}

/** Options of `server.drain()`. */
export interface DrainOptions {
  /**
   * How long request streams in flight may keep running before the session
   * moves anyway. Those still running then end with `$error`
   * RXWIRE_SESSION_MOVED, which the client receives once, after it resumed
   * on another node.
   * @default 5_000 // 5 seconds
   */
  requestTimeout?: number;
  /**
   * How long `drain()` waits for the cluster (Redis) to take every session's
   * state before it gives up and rejects with RXWIRE_CLUSTER_UNAVAILABLE.
   * Without a cluster: how long it waits for clients to close before
   * terminating them.
   * @default 30_000 // 30 seconds
   */
  timeout?: number;
}

/** Counters of a clustered server (`server.cluster`). */
export interface ClusterStats {
  /** This node's id (also `server.nodeId`). */
  readonly nodeId: string;
  /** `'up'` while the engine (Redis) answers; `'down'` during an outage. */
  readonly state: 'connecting' | 'up' | 'down';
  /** Live nodes, this one included, as of the last heartbeat. */
  readonly nodes: readonly string[];
  /** Sessions taken over from another node. */
  readonly handoversIn: number;
  /** Sessions handed to another node (a takeover, or a drain). */
  readonly handoversOut: number;
  /** `sendTo` messages this node routed to a session on another node. */
  readonly remoteSends: number;
  /** Broadcasts this node appended to the cluster's broadcast log. */
  readonly broadcasts: number;
  /** Commands that failed because the engine (Redis) did not answer. */
  readonly redisErrors: number;
}

/** How a takeover of a session held elsewhere ended (see {@link ClusterBinding.takeOver}). */
export type TakeoverResult =
  /** The session's state: import it; `adopt` finishes the move once it is a session here. */
  | {
      kind: 'record';
      record: SessionRecord;
      from: string;
      adopt(session: ServerSession<never, unknown>): void;
    }
  /** No node has it (never existed, expired, or its node died): start a new session. */
  | { kind: 'new' }
  /** Another user's session: refuse (4403), leave it alone. */
  | { kind: 'forbidden' }
  /** The cluster cannot decide now (Redis down, the owner slow): tell the client to come back (1013). */
  | { kind: 'retry'; reason: string }
  /** Another connection of this node was taking the same session over: it is here now (or not): look again. */
  | { kind: 'again' };

/** What a cluster engine needs from the server it serves. */
export interface ClusterHost {
  readonly options: ResolvedOptions;
  /** A live session of this node (open, or waiting for a resume), by id. */
  session(id: string): ServerSession<never, unknown> | undefined;
  /** Every live session of this node. */
  localSessions(): Iterable<ServerSession<never, unknown>>;
  /** A session taken over while its connection was already gone: keep it here, detached. */
  adoptDetached(result: Extract<TakeoverResult, { kind: 'record' }>): void;
  /** Another node revoked a user: end this node's sessions of it, and refuse resumes of older ones. */
  revoked(userKey: string, at: number, close: { code: number; reason: string }): void;
}

/**
 * A cluster bound to one server: everything the server core asks of it.
 * Made by the `cluster` option's {@link Cluster.bind}.
 */
export interface ClusterBinding {
  readonly nodeId: string;
  /** Key of resume tokens, derived from the shared secret: equal on every node. */
  readonly resumeKey: Uint8Array;
  readonly stats: ClusterStats;
  readonly presence$: Observable<readonly PresenceEntry[]>;
  readonly presence: readonly PresenceEntry[];
  /**
   * Registers a new session in the store before its client learns its id
   * (`$welcome`), so that from then on every node finds it. Resolves once
   * registered, or at once when the store is unreachable (the node
   * registers its sessions again when it is back).
   */
  reserve(sessionId: string, user: unknown): Promise<void>;
  /** A reserved session never started (its connection closed first). */
  discard(sessionId: string): void;
  /** A session started here, or moved in. */
  opened(session: ServerSession<never, unknown>): void;
  /** A local session's connection came or went. */
  connectionChanged(session: ServerSession<never, unknown>): void;
  /** A local session ended (not moved). */
  ended(session: ServerSession<never, unknown>, close: SessionClose): void;
  /**
   * A resuming client of a session this node does not hold: take it over
   * from its node. `wanted()` says whether the connection still waits: once
   * it does not, no new claim is made (one already accepted still completes).
   */
  takeOver(sessionId: string, user: unknown, wanted: () => boolean): Promise<TakeoverResult>;
  /** Appends a broadcast to the cluster's log; returns how many sessions it is addressed to. */
  broadcast(
    type: string,
    json: string,
    filter: ((session: unknown) => boolean) | undefined,
  ): number;
  sendTo(sessionId: string, type: string, json: string): Promise<void>;
  /**
   * Passes a revocation (`disconnectUser`) on to every other live node: each
   * ends its sessions of `userKey` (internal form) and refuses to resume one
   * started before `at`. Fire and forget: a node that does not hear it (Redis
   * down) is logged.
   */
  revoke(userKey: string, at: number, close: { code: number; reason: string }): void;
  /** Hands every local session to the cluster (the server already refuses new connections). */
  drain(options: Required<DrainOptions>): Promise<void>;
  /** Leaves the cluster (after a drain) and releases the engine's connections. */
  close(): Promise<void>;
}

/**
 * What `createServer`'s `cluster` option takes: made by `redisCluster()` or
 * `memoryCluster()` from `rxwire/cluster`. One cluster object serves one server.
 */
export interface Cluster {
  /** @internal Binds the cluster to the server that received it; called once, by `createServer`. */
  bind(host: ClusterHost): ClusterBinding;
}
