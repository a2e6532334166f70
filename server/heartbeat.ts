/** What the heartbeat needs of a socket. */
export interface Pingable {
  ping(): void;
  terminate(): void;
}

/** One socket under watch: call `alive()` on each pong (or any inbound frame), `remove()` at close. */
export interface HeartbeatHandle {
  alive(): void;
  remove(): void;
}

/**
 * A socket the heartbeat watches directly (see {@link Heartbeat.add}): the
 * object is its own entry, so watching it allocates nothing.
 */
export interface HeartbeatPeer {
  /** The sweep whose ping is still unanswered, 0 when none is: set it to 0 on each pong. */
  pendingSweep: number;
  /** Sends a ping. */
  ping(): void;
  /** It did not answer within the timeout: end it (it is no longer watched). */
  unresponsive(): void;
}

/** Adapts a {@link Pingable} to a {@link HeartbeatPeer}, for {@link Heartbeat.watch}. */
class WatchedPeer implements HeartbeatPeer {
  pendingSweep = 0;
  constructor(private readonly peer: Pingable) {}
  ping(): void {
    this.peer.ping();
  }
  unresponsive(): void {
    this.peer.terminate();
  }
}

/**
 * Pings every watched socket each `interval` and terminates, `timeout` later,
 * those that have not answered, so a dead peer is gone within
 * `interval + timeout`. One interval for the whole server plus one timeout per
 * sweep, however many sockets.
 */
export class Heartbeat {
  private readonly entries = new Set<HeartbeatPeer>();
  private readonly checks = new Set<ReturnType<typeof setTimeout>>();
  private readonly sweep: ReturnType<typeof setInterval>;
  private sweeps = 0;

  constructor(
    interval: number,
    private readonly timeout: number,
  ) {
    this.sweep = setInterval(() => this.pingAll(), interval);
    this.sweep.unref();
  }

  /** Watches `peer` through a handle (a few small objects per socket; {@link add} needs none). */
  watch(peer: Pingable): HeartbeatHandle {
    const entry = new WatchedPeer(peer);
    this.entries.add(entry);
    return {
      alive: () => {
        entry.pendingSweep = 0;
      },
      remove: () => {
        this.entries.delete(entry);
      },
    };
  }

  /** Watches `peer` itself: it resets `pendingSweep` on each pong and calls {@link remove} at close. */
  add(peer: HeartbeatPeer): void {
    peer.pendingSweep = 0;
    this.entries.add(peer);
  }

  /** Stops watching `peer`. */
  remove(peer: HeartbeatPeer): void {
    this.entries.delete(peer);
  }

  stop(): void {
    clearInterval(this.sweep);
    for (const check of this.checks) clearTimeout(check);
    this.checks.clear();
    this.entries.clear();
  }

  private pingAll(): void {
    if (this.entries.size === 0) return;
    const sweep = ++this.sweeps;
    for (const entry of this.entries) {
      // A peer still owing an older pong keeps that deadline; it is not pinged again.
      if (entry.pendingSweep !== 0) continue;
      entry.pendingSweep = sweep;
      try {
        entry.ping();
      } catch {
        // A socket that cannot even be pinged is as good as dead; the check ends it.
      }
    }
    const check = setTimeout(() => {
      this.checks.delete(check);
      this.terminateSilent(sweep);
    }, this.timeout);
    check.unref();
    this.checks.add(check);
  }

  private terminateSilent(sweep: number): void {
    for (const entry of this.entries) {
      if (entry.pendingSweep === 0 || entry.pendingSweep > sweep) continue;
      this.entries.delete(entry);
      entry.unresponsive();
    }
  }
}
