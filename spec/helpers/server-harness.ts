// Test kit for the server specs: a disposer drained after each test, servers on
// port 0, and a raw `ws` client whose waitForMessage() is queue-backed so no
// frame is ever missed between two awaits.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import type { Envelope, Protocol, AnyProtocol } from '../../src/protocol/index.js';
import { createServer, type RxwireServer, type ServerOptions } from '../../server/index.js';

/** Cleanups registered during a test, run (last first) by `drain()`. */
export class Disposer {
  private readonly cleanups: Array<() => unknown> = [];

  add(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  async drain(): Promise<void> {
    while (this.cleanups.length > 0) {
      const cleanup = this.cleanups.pop()!;
      try {
        await cleanup();
      } catch {
        // A failed cleanup must not keep the others from running.
      }
    }
  }
}

/** Resolves when `promise` does, or rejects after `ms` with `what` in the message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves once a client's `state$` says `connected`; rejects after `ms`. */
export function connected<S extends { status: string }>(
  client: { readonly state$: Observable<S> },
  ms = 10_000,
): Promise<S> {
  return within(
    firstValueFrom(client.state$.pipe(filter((s) => s.status === 'connected'))),
    ms,
    'the client to connect',
  );
}

/** Resolves once `check()` holds, polling every 5 ms; rejects after `ms` with `what` in the message. */
export function until(check: () => boolean, ms: number, what: string): Promise<void> {
  let gaveUp = false;
  return within(
    (async () => {
      while (!gaveUp && !check()) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  ).finally(() => {
    gaveUp = true; // stop polling: a timed-out wait must not keep jest alive
  });
}

export function listen(http: HttpServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

export function closeHttp(http: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!http.listening) return resolve();
    http.closeAllConnections();
    http.close(() => resolve());
  });
}

export interface TestServer<P extends Protocol, U> {
  server: RxwireServer<P, U>;
  http: HttpServer;
  port: number;
  url: string;
}

/** An http server on a free port with rxwire attached; both are closed by `disposer`. */
export async function startServer<P extends Protocol = AnyProtocol, U = unknown>(
  disposer: Disposer,
  options: Omit<ServerOptions<P, U>, 'server' | 'port'> = {},
  http: HttpServer = createHttpServer(),
): Promise<TestServer<P, U>> {
  const port = await listen(http);
  const server = createServer<P, U>({ ...options, server: http } as ServerOptions<P, U>);
  disposer.add(async () => {
    await server.close();
    await closeHttp(http);
  });
  return { server, http, port, url: `ws://127.0.0.1:${port}${options.path ?? '/ws'}` };
}

let nextId = 0;

/** A well-formed envelope with a fresh id. */
export function envelope(
  type: string,
  payload: unknown = null,
  extra: Partial<Envelope> = {},
): Envelope {
  return { type, id: `t${++nextId}`, payload, timestamp: new Date().toISOString(), ...extra };
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/** A raw `ws` client speaking the wire protocol by hand. */
export class RawClient {
  readonly closed: Promise<CloseEvent>;
  private readonly queue: Envelope[] = [];
  private readonly waiters: Array<(envelope: Envelope) => void> = [];
  private closeEvent: CloseEvent | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = JSON.parse(String(data)) as Envelope;
      const waiter = this.waiters.shift();
      if (waiter) waiter(parsed);
      else this.queue.push(parsed);
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeEvent = { code, reason: reason.toString() };
        resolve(this.closeEvent);
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket (no `$hello` yet); rejects if the upgrade is refused. */
  static connect(url: string, disposer: Disposer, options: ClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options);
    disposer.add(() => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        reject(
          Object.assign(new Error(`upgrade refused: ${res.statusCode}`), {
            status: res.statusCode,
          }),
        );
        res.resume();
      });
      ws.once('error', reject);
    });
  }

  /** Connects and completes the handshake; resolves with the `$welcome`. */
  static async open(
    url: string,
    disposer: Disposer,
    hello: Record<string, unknown> = {},
    options: ClientOptions = {},
  ): Promise<{ client: RawClient; welcome: Envelope }> {
    const client = await RawClient.connect(url, disposer, options);
    const welcome = await client.hello(hello);
    if (welcome.type !== '$welcome') {
      throw new Error(`expected $welcome, got ${JSON.stringify(welcome)}`);
    }
    return { client, welcome };
  }

  get closeInfo(): CloseEvent | null {
    return this.closeEvent;
  }

  send(value: Envelope | Record<string, unknown>): string {
    this.ws.send(JSON.stringify(value));
    return String((value as { id?: unknown }).id);
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  async hello(payload: Record<string, unknown> = {}): Promise<Envelope> {
    this.send(envelope('$hello', { v: 1, ...payload }));
    return this.next();
  }

  /** Sends a request envelope; returns its id. */
  request(type: string, payload: unknown = null): string {
    return this.send(envelope(type, payload, { request: true }));
  }

  /** The next frame from the server, in order (waitForMessage). */
  next(ms = 5_000): Promise<Envelope> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    let waiter: ((envelope: Envelope) => void) | undefined;
    const promise = new Promise<Envelope>((resolve) => {
      waiter = resolve;
      this.waiters.push(resolve);
    });
    return within(promise, ms, 'a server frame').catch((error: unknown) => {
      const i = this.waiters.indexOf(waiter!);
      if (i >= 0) this.waiters.splice(i, 1);
      throw error;
    });
  }

  /** Frames until (and including) the first that matches. */
  async until(match: (envelope: Envelope) => boolean, ms = 5_000): Promise<Envelope[]> {
    const frames: Envelope[] = [];
    for (;;) {
      const frame = await this.next(ms);
      frames.push(frame);
      if (match(frame)) return frames;
    }
  }

  /** Frames already received and not yet taken. */
  pending(): readonly Envelope[] {
    return this.queue;
  }

  waitClosed(ms = 5_000): Promise<CloseEvent> {
    return within(this.closed, ms, 'the socket to close');
  }
}
