import type { Subscription } from 'rxjs';
import { ErrorCode, type CloseInfo, type RxwireError } from '../protocol/index.js';
import { HttpSocket } from './http-socket.js';
import type { ResolvedOptions } from './options.js';
import type { WebSocketConstructor, WebSocketLike } from './socket.js';

/** Which transport carries the connection. */
export type TransportName = 'websocket' | 'http';

/** What the switch needs from the client. */
export interface TransportHost {
  /** True while a connection (after `$welcome`) is up. */
  connected(): boolean;
  /** A WebSocket probe opened while on HTTP: move the live session back to WebSocket. */
  moveBack(): void;
}

/**
 * The choice between WebSocket and the HTTP fallback: counts consecutive
 * WebSocket attempts that fail before `$welcome`, falls back to HTTP after
 * `fallbackAfter` of them, and while on HTTP probes WebSocket every
 * `probeInterval` so the client can move back.
 */
export class TransportSwitch {
  /** The transport of the current (or next) attempt. */
  current: TransportName;
  /** The HTTP transport's constructor, made once. */
  private readonly httpCtor: WebSocketConstructor | undefined;
  /** Consecutive WebSocket attempts that failed before `$welcome`. */
  private wsFailures = 0;
  private probeTimer: Subscription | undefined;
  private probeSocket: WebSocketLike | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly host: TransportHost,
  ) {
    this.httpCtor = options.transports.includes('http')
      ? HttpSocket.with({ fetch: options.fetch! })
      : undefined;
    this.current =
      options.transports[0] === 'http' ||
      !options.transports.includes('websocket') ||
      options.WebSocketCtor === undefined
        ? 'http'
        : 'websocket';
  }

  /** The constructor for the next attempt. */
  get ctor(): WebSocketConstructor {
    return this.current === 'http' ? this.httpCtor! : this.options.WebSocketCtor!;
  }

  /** The attempt reached `$welcome`. */
  welcomed(): void {
    if (this.current === 'websocket') this.wsFailures = 0;
  }

  /**
   * Counts an attempt that ended; after `fallbackAfter` WebSocket attempts in
   * a row that failed before `$welcome` without a close the server chose,
   * moves to HTTP. Returns true when it just did.
   */
  failed(failure: RxwireError, close: CloseInfo | undefined, welcomed: boolean): boolean {
    if (welcomed) {
      this.wsFailures = 0;
      return false;
    }
    if (this.current !== 'websocket' || this.httpCtor === undefined) return false;
    const dropped =
      close === undefined ||
      close.code === 1006 ||
      close.code === 1005 ||
      close.code === 1015 ||
      failure.code === ErrorCode.ConnectTimeout;
    if (!dropped) return false;
    this.wsFailures++;
    if (this.wsFailures < this.options.fallbackAfter) return false;
    this.wsFailures = 0;
    this.current = 'http';
    this.options.logger.warn('rxwire: WebSocket keeps failing, falling back to HTTP', {
      attempts: this.options.fallbackAfter,
    });
    return true;
  }

  /** Moves to `transport`; returns false when already there. */
  switchTo(transport: TransportName): boolean {
    if (this.current === transport) return false;
    this.current = transport;
    this.wsFailures = 0;
    return true;
  }

  /** While connected over HTTP, tries a WebSocket every `probeInterval`. */
  scheduleProbe(): void {
    const { probeInterval, scheduler, WebSocketCtor, transports } = this.options;
    if (
      this.current !== 'http' ||
      WebSocketCtor === undefined ||
      !transports.includes('websocket') ||
      !(probeInterval > 0 && Number.isFinite(probeInterval))
    ) {
      return;
    }
    this.stopProbe();
    this.probeTimer = scheduler.schedule(() => {
      this.probeTimer = undefined;
      this.probe(WebSocketCtor);
    }, probeInterval);
  }

  private probe(Ctor: WebSocketConstructor): void {
    if (this.current !== 'http' || !this.host.connected()) return;
    const { logger, scheduler, connectTimeout, url } = this.options;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      logger.debug('rxwire: WebSocket probe failed', { error: String(error) });
      this.scheduleProbe();
      return;
    }
    this.probeSocket = socket;
    const giveUp = scheduler.schedule(() => finish(false), connectTimeout);
    const finish = (opened: boolean): void => {
      if (this.probeSocket !== socket) return;
      this.probeSocket = undefined;
      giveUp.unsubscribe();
      silence(socket);
      try {
        if (opened) socket.close(1000, 'probe');
        else socket.close();
      } catch {
        // a socket still connecting may refuse a close; it is dropped either way
      }
      logger.debug('rxwire: WebSocket probe', { opened });
      if (opened) this.host.moveBack();
      else this.scheduleProbe();
    };
    socket.onopen = () => finish(true);
    socket.onerror = () => finish(false);
    socket.onclose = () => finish(false);
  }

  stopProbe(): void {
    this.probeTimer?.unsubscribe();
    this.probeTimer = undefined;
    const socket = this.probeSocket;
    if (socket !== undefined) {
      this.probeSocket = undefined;
      silence(socket);
      try {
        socket.close();
      } catch {
        // dropped either way
      }
    }
  }
}

function silence(socket: WebSocketLike): void {
  const noop = (): void => undefined;
  socket.onopen = noop;
  socket.onclose = noop;
  socket.onmessage = noop;
  socket.onerror = noop;
}
