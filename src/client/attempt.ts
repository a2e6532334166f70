import {
  Observable,
  Subject,
  exhaustMap,
  filter,
  interval,
  map,
  take,
  throwError,
  timeout,
} from 'rxjs';
import { webSocket } from 'rxjs/webSocket';
import {
  Control,
  ConnectionClosedError,
  ErrorCode,
  PROTOCOL_VERSION,
  RxwireError,
  decodeFrame,
  encodeEnvelope,
  type CloseInfo,
  type DecodedFrame,
  type Envelope,
  type HelloPayload,
  type ResumeRequest,
  type WelcomePayload,
} from '../protocol/index.js';
import { failureCause } from './failure.js';
import type { ResolvedOptions } from './options.js';
import { WriteCoalescer, type Corkable } from '../protocol/coalesce.js';
import { OPEN, watchNodeStream, type WebSocketConstructor, type WebSocketLike } from './socket.js';

/** Frames sent to one socket in one turn leave together (Node: one writev). */
const writes = new WriteCoalescer();

/** An open socket that completed the `$hello`/`$welcome` handshake. */
export interface Link {
  readonly socket: WebSocketLike;
  /** Sends a frame if the socket is open; returns false (and sends nothing) otherwise. */
  send(frame: string | ArrayBufferLike | ArrayBufferView): boolean;
  isOpen(): boolean;
}

/** What one attempt reports to the client while it lives. */
export interface AttemptHandlers {
  welcome(link: Link, welcome: WelcomePayload, rttMs: number): void;
  /** Every inbound frame after `$welcome`, except `$pong` which the heartbeat consumes. */
  frame(frame: DecodedFrame, link: Link): void;
  latency(ms: number): void;
  /** What `$hello` should carry to resume the previous session, if any. */
  resume(): ResumeRequest | undefined;
  /** A cumulative `ack` on a frame the attempt consumes itself (`$pong`). */
  ack(ack: number, link: Link): void;
}

/**
 * One connection attempt, from token to close, as a cold Observable that never
 * emits and always ends in an error: a {@link ConnectionClosedError} carrying the
 * close, or a timeout / token error. Each subscription makes a fresh
 * WebSocketSubject (rxjs 7.8.2's subject misbehaves when reused across sockets),
 * and the caller's `retry({delay})` decides what happens next.
 */
export function connectAttempt(
  options: ResolvedOptions,
  handlers: AttemptHandlers,
  nextId: () => string,
  Ctor: WebSocketConstructor = options.WebSocketCtor!,
): Observable<never> {
  return new Observable<never>((subscriber) => {
    const { scheduler } = options;
    let closeEvent: CloseInfo | undefined;
    let socket: WebSocketLike | undefined;
    /** The Node stream under a `ws` socket; undefined in browsers. */
    let stream: Corkable | undefined;
    let welcomed = false;
    let helloId = '';
    let helloSentAt = 0;
    const pongs = new Subject<Envelope>();
    const fail = (error: unknown): void => subscriber.error(error);

    const link: Link = {
      get socket() {
        return socket as WebSocketLike;
      },
      isOpen: () => socket !== undefined && socket.readyState === OPEN,
      send(frame) {
        if (!socket || socket.readyState !== OPEN) return false;
        if (stream !== undefined) writes.hold(stream);
        socket.send(frame);
        return true;
      },
    };

    const connectTimer = scheduler.schedule(
      () =>
        fail(
          new RxwireError(
            ErrorCode.ConnectTimeout,
            `no $welcome within ${options.connectTimeout} ms (connectTimeout)`,
          ),
        ),
      options.connectTimeout,
    );
    subscriber.add(connectTimer);

    const open = (token: string | undefined): void => {
      // A constructor wrapper hands us the socket itself: we read readyState and
      // bufferedAmount and write frames directly, so nothing goes through the
      // subject's unbounded pre-open buffer or is dropped silently while closing.
      const capture = function (url: string, protocols?: string | string[]): WebSocketLike {
        socket = protocols === undefined ? new Ctor(url) : new Ctor(url, protocols);
        watchNodeStream(socket, (found) => (stream = found));
        return socket;
      } as unknown as typeof WebSocket;
      const subject = webSocket<DecodedFrame>({
        url: options.url,
        ...(options.protocols !== undefined ? { protocol: options.protocols } : {}),
        WebSocketCtor: capture,
        binaryType: 'arraybuffer',
        deserializer: (event) => decodeFrame(event.data),
        openObserver: {
          next: () => {
            const hello: HelloPayload = { v: PROTOCOL_VERSION, client: 'rxwire-js' };
            if (token !== undefined) hello.token = token;
            const resume = handlers.resume();
            if (resume !== undefined) hello.resume = resume;
            helloId = nextId();
            helloSentAt = scheduler.now();
            link.send(
              encodeEnvelope({
                type: Control.Hello,
                id: helloId,
                payload: hello,
                timestamp: new Date(helloSentAt).toISOString(),
              }),
            );
          },
        },
        closeObserver: {
          next: (event: CloseEvent) => {
            closeEvent = { code: event.code, reason: event.reason, wasClean: event.wasClean };
          },
        },
      });
      const closed = (event?: unknown): ConnectionClosedError => {
        // ws and the HTTP transport put the socket's error on the event; a browser's has none.
        const cause = (event as { error?: unknown } | undefined)?.error;
        return new ConnectionClosedError(
          closeEvent ?? { code: 1006, reason: '', wasClean: false, ...failureCause(event) },
          undefined,
          cause !== undefined ? { cause } : undefined,
        );
      };
      subscriber.add(
        subject.subscribe({
          next: (frame) => {
            if (frame.kind === 'envelope') {
              const { type } = frame.envelope;
              if (type === Control.Pong) {
                if (frame.envelope.ack !== undefined) handlers.ack(frame.envelope.ack, link);
                return pongs.next(frame.envelope);
              }
              if (!welcomed) {
                if (type === Control.Welcome)
                  return onWelcome(frame.envelope as Envelope<string, WelcomePayload>);
                if (type !== Control.Error) return; // nothing but $welcome or $error is valid before $welcome
              }
            }
            handlers.frame(frame, link);
          },
          // A close event arrives as an error when it was not clean; a plain
          // error event (refused, DNS, TLS, a refused upgrade) says why.
          error: (event: unknown) => fail(closed(event)),
          complete: () => fail(closed()),
        }),
      );
    };

    const onWelcome = (welcome: Envelope<string, WelcomePayload>): void => {
      const payload = welcome.payload;
      if (
        typeof payload !== 'object' ||
        payload === null ||
        typeof payload.sessionId !== 'string'
      ) {
        fail(
          new ConnectionClosedError({ code: 4400, reason: 'malformed $welcome', wasClean: false }),
        );
        return;
      }
      welcomed = true;
      connectTimer.unsubscribe();
      handlers.welcome(link, payload, scheduler.now() - helloSentAt);
      if (options.heartbeat && !subscriber.closed) subscriber.add(heartbeat(options.heartbeat));
    };

    const heartbeat = (hb: { interval: number; timeout: number }) =>
      interval(hb.interval, scheduler)
        .pipe(
          exhaustMap(() => {
            const id = nextId();
            const sentAt = scheduler.now();
            link.send(
              encodeEnvelope({
                type: Control.Ping,
                id,
                payload: null,
                timestamp: new Date(sentAt).toISOString(),
              }),
            );
            return pongs.pipe(
              filter((pong) => pong.replyTo === id),
              take(1),
              map(() => scheduler.now() - sentAt),
              timeout({
                first: hb.timeout,
                scheduler,
                with: () =>
                  throwError(
                    () =>
                      new RxwireError(
                        ErrorCode.HeartbeatTimeout,
                        `no $pong within ${hb.timeout} ms (heartbeat.timeout)`,
                      ),
                  ),
              }),
            );
          }),
        )
        .subscribe({ next: (ms) => handlers.latency(ms), error: fail });

    if (!options.token) {
      open(undefined);
    } else {
      callToken(
        options.token,
        (token) => {
          if (!subscriber.closed) open(token);
        },
        fail,
      );
    }
  });
}

/**
 * Calls the `token` option for a connection attempt or an in-band refresh. A
 * plain string is used at once (synchronously, so marble tests stay exact); a
 * promise when it resolves. A throw or a rejection goes to `fail` as
 * RXWIRE_TOKEN_FAILED.
 */
export function callToken(
  token: () => string | Promise<string>,
  use: (token: string) => void,
  fail: (error: RxwireError) => void,
): void {
  let value: string | Promise<string>;
  try {
    value = token();
  } catch (cause) {
    fail(tokenError(cause));
    return;
  }
  if (typeof value === 'string') use(value);
  else Promise.resolve(value).then(use, (cause: unknown) => fail(tokenError(cause)));
}

/** The `token` function threw or rejected (RXWIRE_TOKEN_FAILED). */
function tokenError(cause: unknown): RxwireError {
  return new RxwireError(
    ErrorCode.TokenFailed,
    `the token function failed: ${(cause as Error)?.message ?? String(cause)}`,
    { cause },
  );
}
