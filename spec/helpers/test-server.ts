// A minimal protocol peer for client integration tests: a raw `ws` server on
// port 0 that speaks $hello/$welcome/$ping/$pong, records what it receives,
// echoes `echo` messages, streams `count` requests, and can stop and restart on
// the same port. It is deliberately independent of rxwire/server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';

export interface Received {
  type: string;
  id: string;
  payload: unknown;
  replyTo?: string;
  request?: boolean;
  timestamp: string;
}

let ids = 0;
const frame = (type: string, payload: unknown, replyTo?: string): string =>
  JSON.stringify({
    type,
    id: `srv.${++ids}`,
    payload,
    timestamp: new Date().toISOString(),
    ...(replyTo ? { replyTo } : {}),
  });

export class TestServer {
  port = 0;
  /** App messages received, across restarts, in arrival order. */
  readonly received: Received[] = [];
  /** Tokens seen in $hello. */
  readonly tokens: (string | undefined)[] = [];
  readonly sockets = new Set<WebSocket>();
  /** Request ids the client cancelled with $cancel. */
  readonly cancelled: string[] = [];
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private sessions = 0;
  private waiters: Array<() => void> = [];

  async start(port = this.port): Promise<void> {
    this.http = createServer();
    this.wss = new WebSocketServer({ server: this.http, path: '/ws' });
    this.wss.on('connection', (ws) => this.accept(ws));
    await new Promise<void>((resolve, reject) => {
      this.http!.once('error', reject);
      this.http!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Closes every socket with `code` and stops listening; the port is free afterwards. */
  async stop(code = 1001): Promise<void> {
    for (const ws of this.sockets) ws.close(code, 'test server stopping');
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()) ?? resolve());
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => {
      if (!this.http?.listening) return resolve();
      this.http.closeAllConnections();
      this.http.close(() => resolve());
    });
  }

  /** Sends a raw frame to every open socket. */
  broadcastRaw(data: string | Buffer): void {
    for (const ws of this.sockets) ws.send(data);
  }

  broadcast(type: string, payload: unknown): void {
    this.broadcastRaw(frame(type, payload));
  }

  /** Resolves once `n` app messages have been received in total. */
  async waitForMessages(n: number, ms = 10_000): Promise<Received[]> {
    await this.until(() => this.received.length >= n, ms, `${n} messages`);
    return this.received.slice(0, n);
  }

  /** Resolves when `condition` holds, re-checked on each received frame. */
  async until(condition: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    let welcomed = false;
    const streams = new Map<string, NodeJS.Timeout>();
    ws.on('close', () => streams.forEach((t) => clearInterval(t)));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: Received;
      try {
        msg = JSON.parse(data.toString()) as Received;
      } catch {
        return;
      }
      if (!welcomed) {
        if (msg.type !== '$hello') return ws.close(4400, 'expected $hello');
        welcomed = true;
        const token = (msg.payload as { token?: string }).token;
        this.tokens.push(token);
        if (token === 'bad') return ws.close(4401, 'bad token');
        ws.send(frame('$welcome', { v: 1, sessionId: `test-${++this.sessions}` }, msg.id));
        return;
      }
      switch (msg.type) {
        case '$ping':
          return ws.send(frame('$pong', null, msg.id));
        case '$cancel': {
          this.cancelled.push(msg.replyTo!);
          this.waiters.splice(0).forEach((w) => w());
          clearInterval(streams.get(msg.replyTo!));
          streams.delete(msg.replyTo!);
          return;
        }
      }
      if (msg.type.startsWith('$')) return;
      this.received.push(msg);
      this.waiters.splice(0).forEach((w) => w());
      if (msg.type === 'echo') ws.send(frame('echo', msg.payload));
      if (msg.request && msg.type === 'count') {
        let i = 0;
        const to = (msg.payload as { to: number }).to;
        const timer = setInterval(() => {
          if (++i <= to) ws.send(frame('$next', i, msg.id));
          if (i >= to) {
            clearInterval(timer);
            streams.delete(msg.id);
            ws.send(frame('$complete', null, msg.id));
          }
        }, 5);
        streams.set(msg.id, timer);
      }
    });
  }
}

/** The first value of `source$` matching `predicate`, or a clear timeout error. */
export function waitFor<T>(
  source$: Observable<T>,
  predicate: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  return firstValueFrom(source$.pipe(filter(predicate), timeout({ first: ms })));
}
