import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { CloseCode, Control, type Protocol } from '../src/protocol/index.js';
import { bearerToken } from './auth.js';
import type { Connection } from './connection.js';
import type { SessionSocket } from './connection-types.js';
import type { ServerCore } from './core.js';
import { encodeFrame } from './frames.js';
import { Heartbeat } from './heartbeat.js';
import { parseBody, sseEvent, type PostedFrame } from './http-wire.js';
import type { ConnectionLimits } from './limits.js';

/** The HTTP side of a server: stop taking new streams, then restore the http server's listeners. */
export interface HttpAttachment {
  stopAccepting(): void;
  dispose(): void;
}

/** An SSE comment is written this often, so proxies and NATs keep an idle stream open. */
const KEEPALIVE_MS = 15_000;
/** A POST body may hold this many times `maxPayload` (a batch of frames, binary ones in base64). */
const BODY_FACTOR = 16;
/** The header that proves a POST comes from the client that holds the event stream. */
const KEY_HEADER = 'x-rxwire-key';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** One HTTP connection: its event stream and the secret its POSTs must carry. */
interface HttpConnection {
  connection: Connection;
  key: Buffer;
  /** Ends the event stream with `event: close` (idempotent) and reports the close to the core. */
  end(code: number, reason: string, failed?: boolean): void;
  alive(): void;
}

/**
 * The HTTP fallback transport (docs/PROTOCOL.md section 13): for clients
 * whose network blocks WebSocket upgrades. `GET {path}/http` opens a
 * Server-Sent Events stream carrying server→client frames, and
 * `POST {path}/http?id=...` carries client→server frames in batches. Each
 * stream becomes a {@link SessionSocket} for the same transport-free core, so
 * sessions, auth, acks, resume and heartbeats behave exactly as over WebSocket.
 *
 * The http server's `request` listeners are wrapped (as engine.io does): ours
 * answer the two routes, everything else goes to the listeners that were there
 * (Express); `dispose()` puts them back.
 */
export function attachHttpTransport<P extends Protocol, U>(
  httpServer: HttpServer | HttpsServer,
  core: ServerCore<P, U>,
  limits: ConnectionLimits,
): HttpAttachment {
  const { options } = core;
  const { logger } = options;
  const route = `${options.path.replace(/\/+$/, '')}/http`;
  const bodyLimit = options.maxPayload * BODY_FACTOR;
  const live = new Map<string, HttpConnection>();
  // Over HTTP there are no ws-level pings: the server sends a `$ping`
  // envelope on the stream, which the client answers with `$pong`; any POSTed
  // frame counts as alive too.
  const heartbeat = options.heartbeat
    ? new Heartbeat(options.heartbeat.interval, options.heartbeat.timeout)
    : null;
  let accepting = true;
  let refusedOrigins = 0;

  const originals = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  const onRequest: RequestListener = (request, response) => {
    if (pathname(request.url) === route) {
      serve(request, response);
      return;
    }
    for (const listener of originals) listener.call(httpServer, request, response);
    // Nobody else answers (a bare http server): do not leave the request hanging.
    if (originals.length === 0 && httpServer.listenerCount('request') === 1) {
      plain(response, 404, 'Not Found');
    }
  };
  httpServer.on('request', onRequest);

  function serve(request: IncomingMessage, response: ServerResponse): void {
    if (options.allowedOrigins && !originAllowed(request)) {
      if (refusedOrigins++ % 100 === 0) {
        logger.warn('refused an HTTP transport request from a disallowed origin', {
          origin: request.headers.origin,
          refusedSoFar: refusedOrigins,
        });
      }
      request.resume();
      plain(response, 403, 'Forbidden');
      return;
    }
    if (request.method === 'GET') openStream(request, response);
    else if (request.method === 'POST') receivePost(request, response);
    else {
      request.resume();
      response.setHeader('Allow', 'GET, POST');
      plain(response, 405, 'Method Not Allowed');
    }
  }

  function originAllowed(request: IncomingMessage): boolean {
    try {
      return options.allowedOrigins!(request.headers.origin, request);
    } catch (error) {
      logger.error('allowedOrigins threw; refusing the request', { error: String(error) });
      return false;
    }
  }

  function openStream(request: IncomingMessage, response: ServerResponse): void {
    if (!accepting) {
      plain(response, 503, 'Service Unavailable');
      return;
    }
    // An event stream is a connection like a WebSocket: the same limits apply.
    const admission = limits.admit(request);
    if (admission.refused !== null) {
      response.setHeader('Retry-After', String(admission.retryAfter));
      plain(response, 503, 'Service Unavailable');
      return;
    }
    request.socket.setNoDelay(true);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    response.flushHeaders();
    const key = randomBytes(24);
    let done = false;
    const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const write = (chunk: string): void => {
      if (!done && response.writable) response.write(chunk);
    };
    /** Reports the end once; the core forgets the connection. */
    const finish = (code: number, reason: string): void => {
      if (done) return;
      done = true;
      admission.release();
      clearInterval(keepalive);
      beat?.remove();
      live.delete(connection.id);
      connection.closed(code, reason);
    };
    const entry: HttpConnection = {
      connection: undefined as unknown as Connection,
      key,
      end(code, reason, failed = false) {
        if (done) return;
        if (failed) connection.failed();
        write(sseEvent(JSON.stringify({ code, reason }), 'close'));
        response.end();
        finish(code, reason);
      },
      alive: () => beat?.alive(),
    };
    const socket: SessionSocket = {
      send: (text) => write(sseEvent(text)),
      // Deferred: the core may close a connection inside `open` (during shutdown).
      close: (code, reason) => queueMicrotask(() => entry.end(code, reason)),
      terminate: () => {
        response.destroy();
        finish(CloseCode.Abnormal, '');
      },
    };
    // The closures above run only after `open` returns (the core defers nothing to them before).
    const connection = core.open(socket, {
      request,
      headerToken: bearerToken(request),
      transport: 'http',
      admission,
    });
    entry.connection = connection;
    live.set(connection.id, entry);
    write(sseEvent(JSON.stringify({ id: connection.id, key: key.toString('base64url') }), 'open'));
    const beat = heartbeat?.watch({
      ping: () => write(sseEvent(encodeFrame(Control.Ping, core.nextId(), null))),
      terminate: () => {
        logger.info('no frame within the heartbeat timeout, terminating', {
          session: connection.id,
        });
        connection.terminate();
      },
    });
    // The client went away (or the network did): a drop, the session may be resumed.
    response.once('close', () => finish(CloseCode.Abnormal, ''));
  }

  function receivePost(request: IncomingMessage, response: ServerResponse): void {
    const id = new URL(request.url ?? '/', 'http://localhost').searchParams.get('id');
    const entry = id === null ? undefined : live.get(id);
    if (entry === undefined) {
      request.resume();
      plain(response, 404, 'Unknown connection');
      return;
    }
    const given = request.headers[KEY_HEADER];
    const key = typeof given === 'string' ? Buffer.from(given, 'base64url') : Buffer.alloc(0);
    if (key.length !== entry.key.length || !timingSafeEqual(key, entry.key)) {
      request.resume();
      plain(response, 403, 'Forbidden');
      return;
    }
    const declared = Number(request.headers['content-length']);
    if (declared > bodyLimit) {
      request.resume();
      plain(response, 413, 'Payload Too Large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > bodyLimit) {
        refused = true;
        chunks.length = 0;
        plain(response, 413, 'Payload Too Large');
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', () => undefined);
    request.on('end', () => {
      if (refused) return;
      const frames = parseBody(Buffer.concat(chunks, size).toString('utf8'));
      if (frames === null) {
        plain(response, 400, 'Bad Request: the body must be a JSON array of frames');
        return;
      }
      deliver(entry, frames);
      response.writeHead(204, { 'Cache-Control': 'no-store' });
      response.end();
    });
  }

  function deliver(entry: HttpConnection, frames: PostedFrame[]): void {
    const { connection } = entry;
    for (const frame of frames) {
      if (live.get(connection.id) !== entry) return; // closed by an earlier frame
      entry.alive();
      switch (frame.kind) {
        case 'close':
          entry.end(frame.code, frame.reason);
          return;
        case 'text':
          if (Buffer.byteLength(frame.text) > options.maxPayload) {
            entry.end(CloseCode.MessageTooBig, 'Max payload size exceeded', true);
            return;
          }
          connection.receive(frame.text);
          break;
        case 'binary':
          if (frame.bytes.length > options.maxPayload) {
            entry.end(CloseCode.MessageTooBig, 'Max payload size exceeded', true);
            return;
          }
          connection.receive(frame.bytes);
          break;
      }
    }
  }

  return {
    stopAccepting: () => {
      accepting = false;
    },
    dispose: () => {
      heartbeat?.stop();
      for (const entry of [...live.values()])
        entry.end(CloseCode.GoingAway, 'server shutting down');
      httpServer.off('request', onRequest);
      for (const listener of originals) httpServer.on('request', listener);
    },
  };
}

function pathname(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function plain(response: ServerResponse, status: number, text: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  response.end(text);
}
