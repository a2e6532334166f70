// Every node's copy of the cluster's live sessions: the presence entries
// (`server.presence`) and each session's user, for broadcast filters. It is
// fed by the store's presence messages, in the order the store applied them,
// and resynced from a full snapshot after every reconnection (messages sent
// while a node was cut off are lost, as with any pub/sub).
import type { PresenceEntry, RemoteSession } from '../server/cluster.js';
import { PresenceView } from '../server/presence.js';

/** A presence value as stored: `nodeId|connected(0/1)|{"u": userKey, "d": user}`. */
export function encodePresence(
  nodeId: string,
  connected: boolean,
  userKey: string,
  user: unknown,
): string {
  let data: string;
  try {
    data = JSON.stringify({ u: userKey, d: user ?? null });
  } catch {
    // A user JSON cannot encode: presence still lists the session, filters see no user.
    data = JSON.stringify({ u: userKey, d: null });
  }
  return `${nodeId}|${connected ? 1 : 0}|${data}`;
}

interface Decoded {
  entry: PresenceEntry;
  user: unknown;
}

/** Reads a stored presence value; null for one this version cannot read. */
export function decodePresence(sessionId: string, value: string): Decoded | null {
  const first = value.indexOf('|');
  const second = value.indexOf('|', first + 1);
  if (first <= 0 || second !== first + 2) return null;
  try {
    const rest = JSON.parse(value.slice(second + 1)) as { u?: unknown; d?: unknown };
    if (typeof rest.u !== 'string') return null;
    return {
      entry: {
        sessionId,
        userKey: rest.u,
        nodeId: value.slice(0, first),
        connected: value[first + 1] === '1',
      },
      user: rest.d,
    };
  } catch {
    return null;
  }
}

export class Directory {
  readonly view = new PresenceView();
  private readonly users = new Map<string, unknown>();

  /** Applies changes published by the store, in order. */
  apply(changes: ReadonlyArray<readonly [string, string | null]>): void {
    for (const [sid, value] of changes) {
      if (value === null) {
        this.remove(sid);
        continue;
      }
      const decoded = decodePresence(sid, value);
      if (decoded === null) continue;
      this.users.set(sid, decoded.user);
      this.view.set(decoded.entry);
    }
  }

  /** Sets this node's own entry at once (the store's echo will agree). */
  setLocal(entry: PresenceEntry, user: unknown): void {
    this.users.set(entry.sessionId, user);
    this.view.set(entry);
  }

  remove(sid: string): void {
    this.users.delete(sid);
    this.view.delete(sid);
  }

  /** Drops every entry of `nodes` (dead nodes, reaped by the store). */
  removeNodes(nodes: readonly string[]): void {
    if (nodes.length === 0) return;
    const dead = new Set(nodes);
    for (const entry of this.view.snapshot) {
      if (dead.has(entry.nodeId)) this.users.delete(entry.sessionId);
    }
    this.view.deleteWhere((entry) => dead.has(entry.nodeId));
  }

  /**
   * Replaces everything with a full snapshot, keeping this node's own live
   * sessions (`local`), which the snapshot may predate.
   */
  reset(snapshot: ReadonlyArray<readonly [string, string]>, local: (sid: string) => boolean): void {
    const seen = new Set<string>();
    this.apply(snapshot);
    for (const [sid] of snapshot) seen.add(sid);
    for (const entry of this.view.snapshot) {
      if (!seen.has(entry.sessionId) && !local(entry.sessionId)) this.remove(entry.sessionId);
    }
  }

  /** The sessions of other nodes, as a broadcast filter sees them. */
  *remote(selfNodeId: string): Generator<RemoteSession> {
    for (const entry of this.view.snapshot) {
      if (entry.nodeId === selfNodeId) continue;
      yield Object.freeze({
        remote: true as const,
        id: entry.sessionId,
        user: this.users.get(entry.sessionId),
        nodeId: entry.nodeId,
        connected: entry.connected,
      });
    }
  }
}
