import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { WriteCoalescer } from '../src/protocol/coalesce.js';
import type { Protocol } from '../src/protocol/index.js';
import { bearerToken } from './auth.js';
import type { Connection } from './connection.js';
import type { SessionSocket } from './connection-types.js';
import type { ServerCore } from './core.js';
import { Heartbeat, type HeartbeatPeer } from './heartbeat.js';
import type { Admission, ConnectionLimits } from './limits.js';
import type { Logger } from './logger.js';

/** The ws side of a server: stop taking upgrades, then dispose when every connection is gone. */
export interface WsAttachment {
  /** Answers upgrades on `path` with HTTP 503 from now on (a draining server). */
  refuse(): void;
  /** Stops listening for upgrades at all (the server is closing). */
  stopAccepting(): void;
  dispose(): void;
}

/**
 * Glue between an http(s) server, `ws` and the transport-free core: takes the
 * upgrades on `path` (refusing disallowed Origins with a plain HTTP 403, and
 * connections over the connection limits with HTTP 503),
 * adapts each `ws` socket to {@link SessionSocket}, and runs the ws-level heartbeat.
 * Upgrades on other paths are left to other listeners unless `ownsServer`.
 */
export function attachWebSocket<P extends Protocol, U>(
  httpServer: HttpServer | HttpsServer,
  core: ServerCore<P, U>,
  ownsServer: boolean,
  limits: ConnectionLimits,
): WsAttachment {
  const { options } = core;
  const { logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
  });
  const heartbeat = options.heartbeat
    ? new Heartbeat(options.heartbeat.interval, options.heartbeat.timeout)
    : null;
  let accepting = true;
  let refusedOrigins = 0;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathname(request.url) !== options.path) {
      if (ownsServer) refuse(socket, 404, 'Not Found');
      return;
    }
    if (!accepting) {
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    const origin = request.headers.origin;
    if (options.allowedOrigins && !originAllowed(origin, request)) {
      // Counted and logged sparsely: a hostile page can make browsers retry endlessly.
      if (refusedOrigins++ % 100 === 0) {
        logger.warn('refused upgrade from a disallowed origin', {
          origin,
          refusedSoFar: refusedOrigins,
        });
      }
      refuse(socket, 403, 'Forbidden');
      return;
    }
    if (socket.destroyed) return; // the client left already: nothing to admit
    const admission = limits.admit(request);
    if (admission.refused !== null) {
      refuse(socket, 503, 'Service Unavailable', admission.retryAfter);
      return;
    }
    let upgraded = false;
    wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      connect(ws, request, socket, admission);
    });
    // ws answers a bad handshake itself (400) without calling back: the slot is
    // then held until the TCP socket is gone. An upgraded socket's link frees it.
    if (!upgraded) releaseOnClose(socket, admission);
  };

  function originAllowed(origin: string | undefined, request: IncomingMessage): boolean {
    try {
      return options.allowedOrigins!(origin, request);
    } catch (error) {
      logger.error('allowedOrigins threw; refusing the upgrade', { error: String(error) });
      return false;
    }
  }

  const shared: LinkShared = { heartbeat, logger, writes: new WriteCoalescer() };

  function connect(
    ws: WebSocket,
    request: IncomingMessage,
    stream: Duplex,
    admission: Admission,
  ): void {
    const link = new WsLink(ws, stream, shared, admission);
    link.connection = core.open(link, { request, headerToken: bearerToken(request), admission });
    (ws as WebSocketWithLink)[LINK] = link;
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (heartbeat !== null) {
      ws.on('pong', onPong);
      heartbeat.add(link);
    }
  }

  httpServer.on('upgrade', onUpgrade);
  return {
    refuse: () => {
      accepting = false;
    },
    stopAccepting: () => {
      accepting = false;
      httpServer.off('upgrade', onUpgrade);
    },
    dispose: () => {
      heartbeat?.stop();
      wss.close();
    },
  };
}

/** What every link of one server shares. */
interface LinkShared {
  readonly heartbeat: Heartbeat | null;
  readonly logger: Logger;
  /** Frames sent to one socket in one turn leave in one write. */
  readonly writes: WriteCoalescer;
}

/** Where a `ws` socket keeps its {@link WsLink}, for the shared listeners below. */
const LINK = Symbol('rxwire.link');
type WebSocketWithLink = WebSocket & { [LINK]: WsLink };

/**
 * One `ws` socket as the core and the heartbeat see it: the
 * {@link SessionSocket} of its {@link Connection} and its own heartbeat
 * entry. Its methods live on the prototype and its `ws` listeners are
 * module-level functions (ws calls them with `this` set to the socket), so a
 * connection allocates this object and no closures: idle connections are
 * what a server holds most of.
 */
class WsLink implements SessionSocket, HeartbeatPeer {
  /** Set right after the core opens the connection. */
  connection!: Connection;
  pendingSweep = 0;

  constructor(
    readonly ws: WebSocket,
    /** The TCP (or TLS) stream `ws` writes to. */
    readonly stream: Duplex,
    readonly shared: LinkShared,
    /** The connection's slots under the connection limits, freed when the socket closes. */
    readonly admission: Admission,
  ) {}

  send(data: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.shared.writes.hold(this.stream);
    this.ws.send(data);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    // Frames sent earlier in this turn still go out, as they would have uncorked.
    this.shared.writes.release(this.stream);
    this.ws.terminate();
  }

  ping(): void {
    this.ws.ping();
  }

  unresponsive(): void {
    this.shared.logger.info('no pong within the heartbeat timeout, terminating', {
      session: this.connection.id,
    });
    this.connection.terminate();
  }
}

function linkOf(ws: WebSocket): WsLink {
  return (ws as WebSocketWithLink)[LINK];
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const link = linkOf(this);
  link.pendingSweep = 0; // any frame proves the peer alive
  link.connection.receive(isBinary ? toBytes(data) : data.toString());
}

function onPong(this: WebSocket): void {
  linkOf(this).pendingSweep = 0;
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  // ws closes the socket itself after a protocol error (1009 for maxPayload, 1007 bad UTF-8).
  const link = linkOf(this);
  link.connection.failed();
  link.shared.logger.info('socket error', {
    session: link.connection.id,
    code: error.code,
    error: error.message,
  });
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  // ws emits 'close' once.
  const link = linkOf(this);
  link.shared.heartbeat?.remove(link);
  link.admission.release();
  link.connection.closed(code, reason.toString());
}

function pathname(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * Holds a connection's slots until its TCP socket is gone. A function of its
 * own so the listener's closure holds the admission only: registered inside
 * the upgrade handler, it would share that handler's closure context and keep
 * the whole upgrade request (about 1.5 kB) alive for as long as the socket is.
 */
function releaseOnClose(socket: Duplex, admission: Admission): void {
  socket.once('close', () => admission.release());
}

/** Answers an upgrade with a plain HTTP error: no WebSocket is ever opened. */
function refuse(socket: Duplex, status: number, text: string, retryAfter?: number): void {
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      (retryAfter !== undefined ? `Retry-After: ${retryAfter}\r\n` : '') +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
