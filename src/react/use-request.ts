'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Subscription } from 'rxjs';
import {
  ErrorCode,
  RxwireError,
  type Protocol,
  type RequestOf,
  type RequestType,
  type ResponseOf,
} from '../protocol/index.js';
import { useProvidedClient } from './provider.js';
import type { RegisteredProtocol } from './register.js';
import { RenderThrottle, throttleOption } from './render-throttle.js';
import { useLatest } from './use-latest.js';

/**
 * Where a request is: `idle` before `start()` (and after `reset()`),
 * `submitted` once sent (or queued while offline), `streaming` from the first
 * response value, `ready` when it completed or was stopped, `error` when it
 * failed.
 */
export type RequestStatus = 'idle' | 'submitted' | 'streaming' | 'ready' | 'error';

/** Options of {@link useRequest}. */
export interface RequestHookOptions<R, T> {
  /** Folds each response value into `data`, from `initial`: `(text, { token }) => text + token`. @default keeps the latest value */
  reduce?: (accumulated: T, value: R) => T;
  /** `data` before the first value, and at each `start()`. @default undefined */
  initial?: T;
  /**
   * Renders at most once per this many ms while values stream in; the last
   * value is always rendered. `0` renders once per burst of values that
   * arrive together. @default 0
   */
  throttleMs?: number;
  /** Longest wait for the next response frame, in ms (`client.request`'s `timeout`). @default the client's `requestTimeout` */
  timeout?: number;
}

/** What {@link useRequest} returns. The functions are stable across renders. */
export interface RequestHookResult<Q, T> {
  status: RequestStatus;
  /** The response values folded by `reduce` (the latest value without one), from `initial`. */
  data: T;
  /** Why the request failed (`status: 'error'`): the client's typed error (`RemoteError`, `RXWIRE_REQUEST_TIMEOUT`, ...). */
  error: RxwireError | undefined;
  /** True when `stop()` (or an unmount) ended the request before it completed. */
  stopped: boolean;
  /** Sends the request; a request still running is cancelled first (one `$cancel`). Call it from event handlers. */
  start(payload: Q): void;
  /** Cancels the running request (one `$cancel`: the server's handler is unsubscribed); `data` stays. */
  stop(): void;
  /** Starts the last request again. */
  retry(): void;
  /** Cancels the running request and goes back to `idle` with `initial` data. */
  reset(): void;
}

interface Shown<T> {
  status: RequestStatus;
  data: T;
  error: RxwireError | undefined;
  stopped: boolean;
}

/**
 * A request stream as React state: `start(payload)` sends it, response values
 * fold into `data` (`reduce`, from `initial`), `status` follows it from
 * `submitted` to `streaming` to `ready` or `error`. `stop()`, a new
 * `start()`, and unmounting each cancel a running request with exactly one
 * `$cancel`, which unsubscribes the server's handler; a request that
 * completed sends none. `start` is meant for event handlers: StrictMode never
 * sends a request twice. Errors are the client's typed errors.
 *
 * @example
 * ```tsx
 * function Ask() {
 *   const reply = useRequest('chat', { reduce: (text: string, { token }) => text + token, initial: '' });
 *   return (
 *     <>
 *       <button onClick={() => reply.start({ text: 'Hello' })}>Ask</button>
 *       {reply.status === 'streaming' && <button onClick={reply.stop}>Stop</button>}
 *       <p>{reply.data}</p>
 *     </>
 *   );
 * }
 * ```
 */
export function useRequest<
  P extends Protocol = RegisteredProtocol,
  K extends RequestType<P> = RequestType<P>,
  T = ResponseOf<P, K>,
>(
  type: K,
  options: RequestHookOptions<ResponseOf<P, K>, T> & {
    reduce: (accumulated: T, value: ResponseOf<P, K>) => T;
    initial: T;
  },
): RequestHookResult<RequestOf<P, K>, T>;
export function useRequest<
  P extends Protocol = RegisteredProtocol,
  K extends RequestType<P> = RequestType<P>,
  T = ResponseOf<P, K>,
>(
  type: K,
  options: RequestHookOptions<ResponseOf<P, K>, T | undefined> & {
    reduce: (accumulated: T | undefined, value: ResponseOf<P, K>) => T;
  },
): RequestHookResult<RequestOf<P, K>, T | undefined>;
export function useRequest<
  P extends Protocol = RegisteredProtocol,
  K extends RequestType<P> = RequestType<P>,
>(
  type: K,
  options?: Omit<RequestHookOptions<ResponseOf<P, K>, ResponseOf<P, K>>, 'reduce'>,
): RequestHookResult<RequestOf<P, K>, ResponseOf<P, K> | undefined>;
export function useRequest(
  type: string,
  options: RequestHookOptions<unknown, unknown> = {},
): RequestHookResult<unknown, unknown> {
  const client = useProvidedClient('useRequest');
  const throttleMs = throttleOption('useRequest', options.throttleMs);
  const latest = useLatest({ ...options, type, throttleMs });
  const [shown, setShown] = useState<Shown<unknown>>(() => idle(options.initial));
  /** The request in flight; `end` cancels it (once) if it is still running. */
  const running = useRef<{ end(stopped: boolean): void } | undefined>(undefined);
  const lastPayload = useRef<{ payload: unknown } | undefined>(undefined);

  const stop = useCallback(() => running.current?.end(true), []);

  const start = useCallback(
    (payload: unknown) => {
      running.current?.end(true);
      lastPayload.current = { payload };
      const { type, reduce, initial, timeout, throttleMs } = latest.current;
      let data = initial;
      let finished = false;
      let subscription: Subscription | undefined;
      const throttle = new RenderThrottle(throttleMs, () =>
        setShown({ status: 'streaming', data, error: undefined, stopped: false }),
      );
      const settle = (next: Shown<unknown> | undefined): void => {
        finished = true;
        throttle.stop();
        if (running.current === run) running.current = undefined;
        if (next) setShown(next);
      };
      const run = {
        end(stopped: boolean) {
          if (finished) return;
          settle(stopped ? { status: 'ready', data, error: undefined, stopped: true } : undefined);
          subscription?.unsubscribe(); // sends $cancel: the request is still running
        },
      };
      running.current = run;
      setShown({ status: 'submitted', data, error: undefined, stopped: false });
      try {
        const request = client.request(type, payload, timeout === undefined ? {} : { timeout });
        subscription = request.subscribe({
          next: (value) => {
            try {
              data = reduce ? reduce(data, value) : value;
            } catch (error) {
              // A reducer that throws ends its request: cancelled on the server, shown here.
              const failure = new RxwireError(
                ErrorCode.HandlerError,
                `useRequest('${type}'): reduce threw: ${String((error as Error)?.message ?? error)}`,
                { cause: error },
              );
              settle({ status: 'error', data, error: failure, stopped: false });
              subscription?.unsubscribe();
              return;
            }
            throttle.changed();
          },
          error: (error: unknown) =>
            settle({ status: 'error', data, error: asRxwireError(error), stopped: false }),
          complete: () => settle({ status: 'ready', data, error: undefined, stopped: false }),
        });
      } catch (error) {
        // A misuse client.request() refuses at once (a reserved type): shown, not thrown.
        settle({ status: 'error', data, error: asRxwireError(error), stopped: false });
      }
      // Settled during subscribe (the client is stopped, a reducer threw): nothing may stay open.
      if (finished) subscription?.unsubscribe();
    },
    [client, latest],
  );

  const retry = useCallback(() => {
    if (lastPayload.current !== undefined) start(lastPayload.current.payload);
  }, [start]);

  const reset = useCallback(() => {
    running.current?.end(false);
    setShown(idle(latest.current.initial));
  }, [latest]);

  // Unmounting (or another client) cancels a running request: one $cancel.
  useEffect(() => () => running.current?.end(true), [client]);

  return { ...shown, start, stop, retry, reset };
}

function idle(initial: unknown): Shown<unknown> {
  return { status: 'idle', data: initial, error: undefined, stopped: false };
}

function asRxwireError(error: unknown): RxwireError {
  if (error instanceof RxwireError) return error;
  // RxwireTypeError (a misuse, such as a reserved type) carries a stable code too.
  const code = (error as { code?: unknown } | null)?.code;
  return new RxwireError(
    typeof code === 'string' ? code : ErrorCode.HandlerError,
    String((error as Error)?.message ?? error),
    { cause: error },
  );
}
