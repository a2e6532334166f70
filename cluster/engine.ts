// The store a cluster runs on, as the cluster logic (node.ts and its parts)
// sees it: a handful of atomic operations and three kinds of messages. Redis
// implements each operation as one Lua script (redis-engine.ts, scripts.ts);
// the in-memory engine (memory-engine.ts) implements the same semantics with
// maps, for tests. Everything that decides *what* to do lives above this
// line, once; everything here is *how* it is stored.
//
// Strings cross this interface as they are stored: a record is the JSON of a
// SessionRecord, a presence value is `nodeId|connected|{"u":…,"d":…}`, a
// directed message and a broadcast message are JSON (a broadcast is its JSON
// header, a newline, then the payload's JSON, which stays as it was encoded).

/** A change to this node's sessions in the store (see {@link ClusterEngine.sessions}). */
export type SessionOp =
  /** A new session: owned here, epoch 1, with its presence value. */
  | { op: 'open'; sid: string; userKey: string; entry: string }
  /** The presence value of a session this node owns changed (connected or not). */
  | { op: 'conn'; sid: string; entry: string }
  /** A session owned here ended: forget it. */
  | { op: 'end'; sid: string }
  /** After the store lost our state (restart, or we were declared dead): own it again unless another node took it since. */
  | { op: 'restore'; sid: string; epoch: number; userKey: string; entry: string };

/** A session a node claims, for the user of the connection that resumes it. */
export interface SessionClaim {
  sid: string;
  userKey: string;
}

/** What a claim of a session found (see {@link ClusterEngine.claim}). */
export type ClaimResult =
  /**
   * No such session (never existed, ended, expired). `settling`: the store
   * lost its data a moment ago (see {@link ClusterEngine.heartbeat}), so nodes
   * may still be registering their sessions again: it may exist after all.
   */
  | { kind: 'unknown'; settling: boolean }
  /** The session belongs to another user (by userKey). */
  | { kind: 'forbidden' }
  /** Its owner is dead: its state is gone with it. */
  | { kind: 'lost' }
  /** Its owner is handing it to another claimant right now. */
  | { kind: 'busy' }
  /** It was parked (a drain), or already handed to us: here is its record, and remote sends queued meanwhile. */
  | { kind: 'taken'; epoch: number; record: string; inbox: string[] }
  /** Its owner is alive: the store asked it (a `takeover` message) to hand the session to us. */
  | { kind: 'asked'; epoch: number; owner: string };

/** What parking a session did (see {@link ClusterEngine.park}). */
export type ParkResult =
  /** A node was claiming it: ownership passed to that node, and its record went to it (`handed` message). */
  | { kind: 'handed'; to: string }
  /** Nobody claims it yet: the record waits in the store for `recoveryWindow`. */
  | { kind: 'parked' }
  /** We do not own it any more (another node took it): nothing was written. */
  | { kind: 'fenced' }
  /** The store does not know the session at all (it lost its data): nothing was written; we hold the only copy. */
  | { kind: 'missing' };

/** Where a remote send went (see {@link ClusterEngine.send}). */
export type SendResult =
  | { kind: 'published'; owner: string }
  | { kind: 'queued' }
  /** No node has the session; `settling` as in {@link ClaimResult}. */
  | { kind: 'missing'; settling: boolean };

/** Broadcast log entries after an offset, with the log's epoch (see {@link ClusterEngine.readBroadcasts}). */
export interface BroadcastRead {
  /** Changes when the store lost the log (a restart without persistence): offsets restart at 1. */
  epoch: string;
  /** The offset of the last entry appended so far (0 for an empty log). */
  top: number;
  /** Entries in log order; `message` as published. */
  entries: Array<{ offset: number; message: string }>;
}

/** One broadcast for the log (see {@link ClusterEngine.appendBroadcasts}). */
export interface BroadcastAppend {
  /** The origin's broadcast number: consecutive, from 1 per incarnation. */
  n: number;
  header: string;
  json: string;
}

/** What a heartbeat learned (see {@link ClusterEngine.heartbeat}). */
export interface HeartbeatResult {
  /** This node was not registered (the store restarted empty, or declared it dead): restore its state. */
  fresh: boolean;
  /** Live nodes, this one included. */
  nodes: string[];
  /** Dead nodes this heartbeat removed, with their sessions. */
  reaped: string[];
}

/** What the engine tells the node it serves. */
export interface EngineEvents {
  /** A message for this node (takeover, handed, gone, send, sent, …). */
  direct(message: string): void;
  /** Presence changes, in the order the store applied them: `[sid, value]`, value null when removed. */
  presence(changes: ReadonlyArray<readonly [string, string | null]>): void;
  /** One broadcast log entry, in log order (gaps are possible: read them back). */
  broadcast(message: string): void;
  /** The connection to the store went down, or came back (messages may have been missed meanwhile). */
  state(up: boolean): void;
}

/**
 * The store operations. Each is atomic in the store; each rejects when the
 * store cannot be reached (the caller decides whether to wait or fail).
 */
export interface ClusterEngine {
  /** Connects, subscribes to this node's channel, broadcasts and presence. Resolves once connected. */
  start(nodeId: string, events: EngineEvents): Promise<void>;
  /** Disconnects (after {@link leave}). */
  stop(): Promise<void>;
  /** Whether the store answers now. */
  readonly up: boolean;
  /**
   * Refreshes this node's liveness for `ttlMs`, removes dead nodes and their
   * sessions. `known`: this node was registered before; if the store does not
   * have it any more (it lost its data, or declared the node dead), unknown
   * sessions are "settling" for `settleMs` (their nodes may still register them again).
   */
  heartbeat(
    nodeId: string,
    ttlMs: number,
    settleMs: number,
    known: boolean,
  ): Promise<HeartbeatResult>;
  /** Applies this node's session changes in order; one result per op (`restore` may say `lost`). */
  sessions(nodeId: string, ops: readonly SessionOp[]): Promise<Array<'ok' | 'lost'>>;
  /**
   * Claims sessions for node `nodeId` (fencing: each claim bumps its
   * session's epoch), one after the other as if each were claimed alone;
   * one result per claim, in order.
   */
  claim(nodeId: string, claims: readonly SessionClaim[]): Promise<ClaimResult[]>;
  /** The owner accepts the claim `epoch` (still standing): from now on the claimant waits for the record. */
  accept(nodeId: string, sid: string, epoch: number): Promise<boolean>;
  /** A claimant that waited in vain withdraws claim `epoch`, unless the owner accepted it already. */
  cancel(nodeId: string, sid: string, epoch: number): Promise<'cancelled' | 'coming' | 'gone'>;
  /** Writes the record of a frozen session this node owns: to its claimant, or parked for `ttlMs`. */
  park(nodeId: string, sid: string, record: string, ttlMs: number): Promise<ParkResult>;
  /**
   * This node was asked for a session it does not have: drop its ownership
   * and tell the claimant, unless a record was handed to it and never
   * imported: then the record is returned (and kept ownership).
   */
  release(nodeId: string, sid: string): Promise<{ epoch: number; record: string } | null>;
  /** Deletes the backup copy of a record handed to this node, once imported. */
  dropRecord(sid: string): Promise<void>;
  /** Routes a remote send from node `nodeId`: published to the owner, queued with a parked session, or missing. */
  send(nodeId: string, sid: string, message: string): Promise<SendResult>;
  /** Sends a message to one node. */
  publish(nodeId: string, message: string): Promise<void>;
  /**
   * Appends broadcasts of one origin to the log, in order, and publishes
   * each (one message per entry, in log order). Idempotent per `origin`,
   * `incarnation` and `n`: an entry whose `n` is not above the last one the
   * log has of this origin is skipped. `header` is JSON; the published
   * message is the header with the epoch and offset added, a newline, then
   * `json`. Resolves with how many were appended (the rest were there already).
   */
  appendBroadcasts(
    origin: string,
    incarnation: string,
    entries: readonly BroadcastAppend[],
    maxLen: number,
  ): Promise<number>;
  /** Log entries after `after` (up to `count`), with the log's epoch. */
  readBroadcasts(after: number, count: number): Promise<BroadcastRead>;
  /** Every presence value of the cluster. */
  presenceSnapshot(): Promise<Array<[string, string]>>;
  /** Leaves the cluster gracefully (its remaining sessions are dropped from presence). */
  leave(nodeId: string): Promise<void>;
}

/** Node ids go into keys, channels and messages unescaped: keep them to this alphabet. */
export const NODE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Session ids (UUIDs from the server, or a client's claim) must fit the same rule before they reach the store. */
export const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
