'use client';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Client } from '../client/client.js';
import {
  ErrorCode,
  RxwireTypeError,
  type AnyProtocol,
  type PayloadOf,
  type Protocol,
  type ServerType,
} from '../protocol/index.js';
import { useProvidedClient } from './provider.js';
import type { RegisteredProtocol } from './register.js';
import { RenderThrottle, throttleOption } from './render-throttle.js';
import { useLatest } from './use-latest.js';

/**
 * Calls `handler` with the payload of every `type` message the provider's
 * client receives, while the component is mounted. It never renders the
 * component, and always calls the handler of the latest render without
 * resubscribing (an inline arrow is fine). Use it to feed your own state,
 * a store, a toast, a sound.
 *
 * @example
 * ```tsx
 * function Toasts() {
 *   useMessage('notice', ({ text }) => toast(text));
 *   return null;
 * }
 * ```
 */
export function useMessage<
  P extends Protocol = RegisteredProtocol,
  K extends ServerType<P> = ServerType<P>,
>(type: K, handler: (payload: PayloadOf<P['server'], K>) => void): void {
  const client = useProvidedClient('useMessage');
  const latest = useLatest(handler);
  useEffect(() => {
    const subscription = client.on(type).subscribe((payload) => latest.current(payload as never));
    return () => subscription.unsubscribe();
  }, [client, type, latest]);
}

/** Options of {@link useLatestMessage}. */
export interface LatestMessageOptions {
  /**
   * Renders at most once per this many ms while messages keep coming; the
   * last one is always rendered. `0` renders once per burst of messages that
   * arrive together. @default 0
   */
  throttleMs?: number;
}

/**
 * The payload of the latest `type` message received since the component
 * mounted, or `undefined` before the first. A burst of messages renders
 * once, then at most once per `throttleMs`, always ending on the last one.
 *
 * @example
 * ```tsx
 * function Online() {
 *   const presence = useLatestMessage('presence');
 *   return <span>{presence ? `${presence.online} online` : '–'}</span>;
 * }
 * ```
 */
export function useLatestMessage<
  P extends Protocol = RegisteredProtocol,
  K extends ServerType<P> = ServerType<P>,
>(type: K, options: LatestMessageOptions = {}): PayloadOf<P['server'], K> | undefined {
  type T = PayloadOf<P['server'], K>;
  const client = useProvidedClient('useLatestMessage');
  const throttleMs = throttleOption('useLatestMessage', options.throttleMs);
  const [seen, setSeen] = useState<Received<{ payload: T }>>();
  useEffect(() => {
    let payload: T;
    const throttle = new RenderThrottle(throttleMs, () => setSeen({ client, type, payload }));
    const subscription = client.on(type).subscribe((value) => {
      payload = value as T;
      throttle.changed();
    });
    return () => {
      subscription.unsubscribe();
      throttle.stop(true);
    };
  }, [client, type, throttleMs]);
  // What another client or type left behind is not shown.
  return seen !== undefined && seen.client === client && seen.type === type
    ? seen.payload
    : undefined;
}

/** Options of {@link useMessages}. */
export interface MessagesOptions {
  /** Keeps the newest this many payloads (`Infinity`: all of them). @default 1000 */
  max?: number;
  /**
   * Renders at most once per this many ms while messages keep coming; the
   * last one is always rendered. `0` renders once per burst of messages that
   * arrive together. @default 0
   */
  throttleMs?: number;
}

/**
 * The payloads of every `type` message received since the component mounted,
 * oldest first, keeping the newest `max`. A burst of 1,000 messages renders
 * once, then at most once per `throttleMs`; none is lost, and the last is
 * always rendered. The array is a new one at each render that shows new
 * messages, and the same one otherwise.
 *
 * @example
 * ```tsx
 * function Ticker() {
 *   const trades = useMessages('trade', { max: 50, throttleMs: 100 });
 *   return <ol>{trades.map((t) => <li key={t.id}>{t.price}</li>)}</ol>;
 * }
 * ```
 */
export function useMessages<
  P extends Protocol = RegisteredProtocol,
  K extends ServerType<P> = ServerType<P>,
>(type: K, options: MessagesOptions = {}): readonly PayloadOf<P['server'], K>[] {
  type T = PayloadOf<P['server'], K>;
  const client = useProvidedClient('useMessages');
  const throttleMs = throttleOption('useMessages', options.throttleMs);
  const max = options.max ?? 1000;
  if (!(max === Infinity || (Number.isInteger(max) && max >= 1))) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `useMessages: 'max' must be a positive integer or Infinity (got ${String(max)})`,
    );
  }
  // Kept across effect re-runs (StrictMode, a new max or throttleMs): only another client or type starts over.
  const buffer = useRef<Received<{ items: T[]; count: number }>>(undefined);
  // How many payloads had arrived at the last flush: the render shows the buffer as of then.
  const [flushed, setFlushed] = useState(0);
  useEffect(() => {
    let kept = buffer.current;
    if (kept === undefined || kept.client !== client || kept.type !== type) {
      kept = buffer.current = { client, type, items: [], count: 0 };
    }
    const received = kept;
    const throttle = new RenderThrottle(throttleMs, () => setFlushed(received.count));
    const subscription = client.on(type).subscribe((payload) => {
      const { items } = received;
      items.push(payload as T);
      received.count++;
      // Trimmed in steps, so a long stream costs O(1) per message.
      if (items.length >= 2 * max) items.splice(0, items.length - max);
      throttle.changed();
    });
    return () => {
      subscription.unsubscribe();
      throttle.stop(true);
    };
  }, [client, type, throttleMs, max]);
  const kept = buffer.current;
  const current =
    kept !== undefined && kept.client === client && kept.type === type ? kept : undefined;
  return useMemo(
    () => (current === undefined || current.count === 0 ? none : current.items.slice(-max)),
    // `flushed` is what changes when new payloads are to be shown.
    [current, flushed, max],
  ) as readonly T[];
}

/** Something a hook received, with the client and type it came from. */
type Received<T> = T & { client: Client<AnyProtocol>; type: string };

const none: readonly never[] = Object.freeze([]);
