'use client';
import { useCallback, type ReactElement } from 'react';
import type { ConnectionState, ConnectionStatus as Status } from '../client/state.js';
import type { RxwireError } from '../protocol/index.js';
import { useProvidedClient } from './provider.js';
import { useConnectionState } from './use-connection-state.js';

/** The colour of a status light: what a user reads at a glance. */
export type ConnectionTone = 'green' | 'yellow' | 'red' | 'gray';

/**
 * Colour per status: green connected; yellow on the way (`connecting`,
 * `reconnecting`, and `disconnecting`, which is on its way to red); red when
 * there is no connection and none is being made (`idle`, `disconnected`); gray
 * when the client gave up or hit a fatal close (`error`).
 */
export const connectionTones: Readonly<Record<Status, ConnectionTone>> = Object.freeze({
  idle: 'red',
  connecting: 'yellow',
  connected: 'green',
  reconnecting: 'yellow',
  disconnecting: 'yellow',
  disconnected: 'red',
  error: 'gray',
});

/** The default words for each status (English); pass `labels` to replace any of them. */
export const connectionLabels: Readonly<Record<Status, string>> = Object.freeze({
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnecting: 'Disconnecting…',
  disconnected: 'Disconnected',
  error: 'Connection failed',
});

/** Options of {@link useConnectionStatus}. */
export interface ConnectionStatusOptions {
  /** Words for some or all statuses. @default connectionLabels */
  labels?: Partial<Record<Status, string>>;
}

/** What {@link useConnectionStatus} returns: everything a status indicator shows. */
export interface ConnectionStatusView {
  status: Status;
  tone: ConnectionTone;
  /** The status in words, from `labels`. */
  label: string;
  /** The latest round-trip time in ms, while connected (undefined otherwise). */
  latencyMs: number | undefined;
  /** The retry in progress or next (1, 2, ...; 0 while connected and for the first attempt): show "Retry 2/5". */
  attempt: number;
  /** Retries before the client gives up (`reconnect.maxAttempts`; `Infinity` never gives up). */
  maxAttempts: number;
  /** While waiting to retry: the wait chosen, in ms. */
  retryInMs: number | undefined;
  /** While waiting to retry: when the next attempt starts (ms since the epoch), for a countdown. */
  retryAt: number | undefined;
  /** Why the client is retrying, gave up or stopped. */
  error: RxwireError | undefined;
  /** True when nothing is trying to connect: the client gave up (`error`) or was disconnected. */
  canRetry: boolean;
  /** Starts over now with a fresh attempt count (`client.reconnect()`). Stable across renders. */
  retry(): void;
}

type Picked = Pick<ConnectionState, 'status' | 'attempt' | 'maxAttempts'> & {
  latencyMs: number | undefined;
  retryInMs: number | undefined;
  retryAt: number | undefined;
  error: RxwireError | undefined;
};

const pick = (s: ConnectionState): Picked => ({
  status: s.status,
  attempt: s.attempt,
  maxAttempts: s.maxAttempts,
  latencyMs: s.status === 'connected' ? s.latencyMs : undefined,
  retryInMs: s.retryInMs,
  retryAt: s.retryAt,
  error: s.error,
});

/**
 * Headless data for a connection indicator: status, tone, label, latency,
 * attempts and a `retry()`. Re-renders only when one of these changes (not
 * on queue or delivery counters).
 *
 * @example
 * ```tsx
 * function StatusDot() {
 *   const { tone, label, canRetry, retry } = useConnectionStatus();
 *   return (
 *     <span className={`dot ${tone}`} title={label}>
 *       {canRetry && <button onClick={retry}>Retry</button>}
 *     </span>
 *   );
 * }
 * ```
 */
export function useConnectionStatus(options: ConnectionStatusOptions = {}): ConnectionStatusView {
  const client = useProvidedClient('useConnectionStatus');
  const picked = useConnectionState(pick);
  const retry = useCallback(() => client.reconnect(), [client]);
  return {
    ...picked,
    tone: connectionTones[picked.status],
    label: options.labels?.[picked.status] ?? connectionLabels[picked.status],
    canRetry: picked.status === 'error' || picked.status === 'disconnected',
    retry,
  };
}

/** Props of {@link ConnectionStatus}. */
export interface ConnectionStatusProps extends ConnectionStatusOptions {
  /** Class of the outer element. @default none */
  className?: string;
  /** Text of the Retry button. @default 'Retry' */
  retryText?: string;
}

/**
 * An unstyled connection indicator: a `<div>` with `data-status` and
 * `data-tone` (style it with `[data-tone=green]`, ...), holding the label
 * (`data-part="label"`, a polite live region), the latency while connected
 * (`data-part="latency"`, "23 ms"), "Retry 2/5" while reconnecting
 * (`data-part="attempt"`), and a Retry button (`data-part="retry"`) when the
 * client gave up or was disconnected.
 *
 * @example
 * ```tsx
 * <header>
 *   <h1>Chat</h1>
 *   <ConnectionStatus className="status" />
 * </header>
 * ```
 */
export function ConnectionStatus(props: ConnectionStatusProps): ReactElement {
  const { className, retryText = 'Retry', labels } = props;
  const view = useConnectionStatus(labels ? { labels } : {});
  const { status, tone, label, latencyMs, attempt, maxAttempts, canRetry, retry } = view;
  return (
    <div className={className} data-status={status} data-tone={tone}>
      <span data-part="label" role="status" aria-live="polite">
        {label}
      </span>
      {latencyMs !== undefined && <span data-part="latency">{Math.round(latencyMs)} ms</span>}
      {status === 'reconnecting' && attempt > 0 && (
        <span data-part="attempt">{retryLine(attempt, maxAttempts)}</span>
      )}
      {canRetry && (
        <button type="button" data-part="retry" onClick={retry}>
          {retryText}
        </button>
      )}
    </div>
  );
}

/** "Retry 2/5", or "Retry 2" when the client never gives up. */
export function retryLine(attempt: number, maxAttempts: number): string {
  return Number.isFinite(maxAttempts) ? `Retry ${attempt}/${maxAttempts}` : `Retry ${attempt}`;
}
