// The connection limits (server options maxConnections, maxConnectionsPerIp,
// maxHandshakes): every new connection, WebSocket or HTTP fallback stream,
// takes a slot here before anything is allocated for it, and is refused with
// HTTP 503 when a limit is reached. The transports hold the slot until their
// socket closes; the connection gives up its handshake slot when the session
// opens (or the connection closes first).
import type { IncomingMessage } from 'node:http';
import { clientAddress } from './client-address.js';
import { IntervalLog, type Logger } from './logger.js';
import type { ConnectionLimitOptions } from './resolve-options.js';

/** The option whose limit refused a connection. */
export type LimitName = 'maxConnections' | 'maxConnectionsPerIp' | 'maxHandshakes';

/**
 * What the connection limits count (`server.limits`): a snapshot, taken
 * when read.
 *
 * @example
 * ```ts
 * setInterval(() => {
 *   const { connections, handshakes, refused } = server.limits;
 *   metrics.gauge('rxwire.connections', connections);
 *   metrics.gauge('rxwire.handshakes', handshakes);
 *   metrics.gauge('rxwire.refused.max_connections', refused.maxConnections);
 * }, 10_000);
 * ```
 */
export interface LimitStats {
  /** Open connections (WebSocket and HTTP fallback streams), handshakes included. */
  readonly connections: number;
  /** Connections still in the handshake: no session yet (`$hello` or `authenticate` pending). */
  readonly handshakes: number;
  /** Distinct client addresses (see `trustProxy`) with open connections. */
  readonly addresses: number;
  /** Connections refused with HTTP 503 since the server started, by the limit that refused them. */
  readonly refused: Readonly<Record<LimitName, number>>;
}

/** A connection over a limit: which one, and what to put in `Retry-After` (seconds). */
export interface Refusal {
  readonly refused: LimitName;
  readonly retryAfter: number;
}

/**
 * `Retry-After` by limit: a connection slot frees up only when someone
 * leaves, a handshake slot within a round trip and an `authenticate` call.
 * (rxwire clients use their own backoff; the header is for other clients.)
 */
const RETRY_AFTER: Readonly<Record<LimitName, number>> = {
  maxConnections: 5,
  maxConnectionsPerIp: 5,
  maxHandshakes: 1,
};

/** Connection slots and the counters of refusals (one per server). */
export class ConnectionLimits {
  private connections = 0;
  private handshakes = 0;
  /** Open connections by client address; an address leaves at 0. */
  private readonly byAddress = new Map<string, number>();
  private readonly refused: Record<LimitName, number> = {
    maxConnections: 0,
    maxConnectionsPerIp: 0,
    maxHandshakes: 0,
  };
  private readonly logs: Readonly<Record<LimitName, IntervalLog>>;

  constructor(
    private readonly options: ConnectionLimitOptions,
    logger: Logger,
  ) {
    const log = (name: LimitName): IntervalLog =>
      new IntervalLog(
        logger,
        `refusing connections: ${name} reached (HTTP 503)`,
        `connections refused over ${name}`,
      );
    this.logs = {
      maxConnections: log('maxConnections'),
      maxConnectionsPerIp: log('maxConnectionsPerIp'),
      maxHandshakes: log('maxHandshakes'),
    };
  }

  /**
   * Takes a slot for a new connection from `request`, or says which limit
   * refuses it (counted and logged here). The caller releases the slot when
   * the connection's socket is gone, whatever happened to it.
   */
  admit(request: IncomingMessage): Admission | Refusal {
    const ip = clientAddress(request, this.options.trustProxy);
    const fromIp = this.byAddress.get(ip) ?? 0;
    const { maxConnections, maxConnectionsPerIp, maxHandshakes } = this.options;
    const over: LimitName | null =
      this.connections >= maxConnections
        ? 'maxConnections'
        : fromIp >= maxConnectionsPerIp
          ? 'maxConnectionsPerIp'
          : this.handshakes >= maxHandshakes
            ? 'maxHandshakes'
            : null;
    if (over !== null) {
      this.refused[over] += 1;
      this.logs[over].report({ ip, limit: this.options[over], refusedSoFar: this.refused[over] });
      return { refused: over, retryAfter: RETRY_AFTER[over] };
    }
    this.connections += 1;
    this.handshakes += 1;
    this.byAddress.set(ip, fromIp + 1);
    return new Admission(this, ip);
  }

  get stats(): LimitStats {
    return {
      connections: this.connections,
      handshakes: this.handshakes,
      addresses: this.byAddress.size,
      refused: { ...this.refused },
    };
  }

  /** Writes the refusals counted but not logged yet (at close). */
  flush(): void {
    for (const log of Object.values(this.logs)) log.flush();
  }

  /** A connection's handshake is over (see {@link Admission.endHandshake}). */
  handshakeEnded(): void {
    this.handshakes -= 1;
  }

  /** A connection is gone (see {@link Admission.release}). */
  released(ip: string): void {
    this.connections -= 1;
    const left = (this.byAddress.get(ip) ?? 1) - 1;
    if (left > 0) this.byAddress.set(ip, left);
    else this.byAddress.delete(ip);
  }
}

const HANDSHAKE = 0;
const OPEN = 1;
const RELEASED = 2;

/** One admitted connection's slots: its connection slot and, until its session opens, a handshake slot. */
export class Admission {
  readonly refused = null;
  private state = HANDSHAKE;

  constructor(
    private readonly limits: ConnectionLimits,
    /** The client address the limits counted it under (`session.request.ip`). */
    readonly ip: string,
  ) {}

  /** The session opened, or the connection is closing: frees the handshake slot. Idempotent. */
  endHandshake(): void {
    if (this.state !== HANDSHAKE) return;
    this.state = OPEN;
    this.limits.handshakeEnded();
  }

  /** The socket is gone: frees every slot the connection held. Idempotent. */
  release(): void {
    if (this.state === RELEASED) return;
    this.endHandshake();
    this.state = RELEASED;
    this.limits.released(this.ip);
  }
}
