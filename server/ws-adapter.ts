import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Protocol } from '../src/protocol/index.js';
import { bearerToken } from './auth.js';
import type { SessionSocket } from './connection.js';
import type { ServerCore } from './core.js';
import { Heartbeat } from './heartbeat.js';

/** The ws side of a server: stop taking upgrades, then dispose when every connection is gone. */
export interface WsAttachment {
  stopAccepting(): void;
  dispose(): void;
}

/**
 * Glue between an http(s) server, `ws` and the transport-free core: takes the
 * upgrades on `path` (refusing disallowed Origins with a plain HTTP 403),
 * adapts each `ws` socket to {@link SessionSocket}, and runs the ws-level heartbeat.
 * Upgrades on other paths are left to other listeners unless `ownsServer`.
 */
export function attachWebSocket<P extends Protocol, U>(
  httpServer: HttpServer | HttpsServer,
  core: ServerCore<P, U>,
  ownsServer: boolean,
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
    wss.handleUpgrade(request, socket, head, (ws) => connect(ws, request));
  };

  function originAllowed(origin: string | undefined, request: IncomingMessage): boolean {
    try {
      return options.allowedOrigins!(origin, request);
    } catch (error) {
      logger.error('allowedOrigins threw; refusing the upgrade', { error: String(error) });
      return false;
    }
  }

  function connect(ws: WebSocket, request: IncomingMessage): void {
    const socket: SessionSocket = {
      send: (data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      },
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
    };
    const connection = core.open(socket, { request, headerToken: bearerToken(request) });
    const beat = heartbeat?.watch({
      ping: () => ws.ping(),
      terminate: () => {
        logger.info('no pong within the heartbeat timeout, terminating', {
          session: connection.id,
        });
        connection.terminate();
      },
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      beat?.alive();
      connection.receive(isBinary ? toBytes(data) : data.toString());
    });
    ws.on('pong', () => beat?.alive());
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error (1009 for maxPayload, 1007 bad UTF-8).
      connection.failed();
      logger.info('socket error', {
        session: connection.id,
        code: error.code,
        error: error.message,
      });
    });
    ws.once('close', (code: number, reason: Buffer) => {
      beat?.remove();
      connection.closed(code, reason.toString());
    });
  }

  httpServer.on('upgrade', onUpgrade);
  return {
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

function pathname(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** Answers an upgrade with a plain HTTP error: no WebSocket is ever opened. */
function refuse(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
