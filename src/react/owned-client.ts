'use client';
import { createClient } from '../client/create-client.js';
import type { Client } from '../client/client.js';
import type { ClientOptions } from '../client/options.js';
import type { WebSocketConstructor } from '../client/socket.js';
import { ErrorCode, RxwireTypeError, type AnyProtocol } from '../protocol/index.js';

/**
 * The client an `<RxwireProvider options>` makes and owns.
 *
 * - Made on first use with `autoConnect: false`: making a client opens no
 *   socket, adds no listener and starts no timer, so it is safe during a
 *   render, on a server too. Only a provider effect connects it.
 * - Ref-counted: each mounted provider effect holds it. StrictMode's
 *   unmount-and-mount-again releases and acquires within one commit, so the
 *   dispose a release queues (for a microtask) is cancelled and the one
 *   connection stays up. A real unmount disposes it.
 * - React may run a provider's effects again without a new render (an
 *   `<Activity>` shown again after hiding): the disposed client is then
 *   replaced by a fresh one, and the provider renders it.
 *
 * StrictMode also calls `useState` initializers twice and keeps one result;
 * the other `OwnedClient` never made a client, or made an idle one that is
 * simply dropped.
 */
export class OwnedClient {
  private current: Client<AnyProtocol> | undefined;
  private connected = false;
  private disposed = false;
  private users = 0;
  private disposeQueued = false;
  /** Set when this environment has no way to connect (a server render without WebSocket). */
  private unavailable: RxwireTypeError | undefined;

  constructor(private readonly options: ClientOptions<never>) {}

  /** The client, made on first use. */
  get client(): Client<AnyProtocol> {
    return (this.current ??= this.create());
  }

  /** A provider effect mounted: returns the client to use (a fresh one when the last was disposed). */
  acquire(): Client<AnyProtocol> {
    this.users++;
    if (this.unavailable) throw this.unavailable;
    if (this.disposed) {
      this.current = this.create();
      this.disposed = false;
      this.connected = false;
    }
    const client = this.client;
    if (!this.connected) {
      this.connected = true;
      if (this.options.autoConnect !== false) client.connect();
    }
    return client;
  }

  /** A provider effect cleaned up: disposes the client unless it is acquired again in this commit. */
  release(): void {
    this.users--;
    if (this.users > 0 || this.disposeQueued) return;
    this.disposeQueued = true;
    queueMicrotask(() => {
      this.disposeQueued = false;
      if (this.users > 0 || this.disposed || this.current === undefined) return;
      this.disposed = true;
      this.current.dispose();
    });
  }

  private create(): Client<AnyProtocol> {
    const options: ClientOptions<never> = { ...this.options, autoConnect: false };
    if (!canConnectHere(options)) {
      // Server rendering in Node 20 has no WebSocket; the client is never connected there.
      this.unavailable = new RxwireTypeError(
        ErrorCode.InvalidOption,
        "RxwireProvider: no WebSocket constructor here: pass the 'WebSocketCtor' option " +
          "(in Node 20: import WebSocket from 'ws')",
      );
      options.WebSocketCtor = NoWebSocket;
    }
    return createClient<AnyProtocol>(options);
  }
}

/** Whether `createClient(options)` finds a transport here. */
function canConnectHere(options: ClientOptions<never>): boolean {
  if (options.WebSocketCtor !== undefined) return true;
  const g = globalThis as { WebSocket?: unknown; fetch?: unknown };
  if (typeof g.WebSocket === 'function') return true;
  const fetchFn = options.fetch ?? g.fetch;
  return options.transports?.includes('http') === true && typeof fetchFn === 'function';
}

/** Stands in for a missing WebSocket constructor on a server; never constructed. */
const NoWebSocket = function NoWebSocket(): never {
  throw new RxwireTypeError(
    ErrorCode.InvalidOption,
    "no WebSocket constructor: pass the 'WebSocketCtor' option",
  );
} as unknown as WebSocketConstructor;
