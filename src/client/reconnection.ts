import {
  ConnectionClosedError,
  ErrorCode,
  RxwireError,
  type CloseInfo,
} from '../protocol/index.js';
import { backoffDelay } from './backoff.js';
import { defaultCloseDecision, type CloseDecision } from './close-policy.js';
import type { ResolvedOptions } from './options.js';

/** What to do after a failed attempt or a dropped connection. */
export type NextStep =
  | { kind: 'retry'; wait: number; attempt: number }
  | { kind: 'reauthenticate' }
  | { kind: 'stop'; status: 'disconnected' | 'error'; error: RxwireError | undefined };

/**
 * The reconnection decisions, apart from any socket or timer. `maxAttempts`
 * counts retries: the first attempt (or the drop of a working connection) is
 * followed by up to `maxAttempts` retries, the n-th after a backoff wait of
 * `min(maxDelay, initialDelay·factor^(n-1))`, jittered. Also the one
 * immediate retry with a fresh token after a 4401, and the close policy.
 */
export class Reconnection {
  /** The retry in progress or next: 0 for the first attempt and while connected. */
  attempt = 0;
  private reauthUsed = false;

  constructor(private readonly options: Pick<ResolvedOptions, 'reconnect' | 'shouldReconnect'>) {}

  /** A fresh start (`connect()`, `reconnect()`). */
  reset(): void {
    this.attempt = 0;
    this.reauthUsed = false;
  }

  /** The connection reached `connected`: counts start over. */
  connected(): void {
    this.attempt = 0;
    this.reauthUsed = false;
  }

  /** Decides what follows `failure` (with its close, when the socket closed). */
  next(failure: RxwireError, close: CloseInfo | undefined): NextStep {
    switch (close ? this.decide(close) : 'reconnect') {
      case 'stop':
        return { kind: 'stop', status: 'disconnected', error: undefined };
      case 'fatal':
        return { kind: 'stop', status: 'error', error: failure };
      case 'reauthenticate':
        // A second refusal in a row means the token source itself is broken.
        if (this.reauthUsed || !close) {
          const error = close ? new ConnectionClosedError(close, ErrorCode.Unauthorized) : failure;
          return { kind: 'stop', status: 'error', error };
        }
        // The immediate retry with a fresh token belongs to the attempt it repeats.
        this.reauthUsed = true;
        return { kind: 'reauthenticate' };
      case 'reconnect':
        break;
    }
    const { reconnect } = this.options;
    if (!reconnect) return { kind: 'stop', status: 'disconnected', error: failure };
    if (this.attempt >= reconnect.maxAttempts) {
      const retries = this.attempt;
      const error = new RxwireError(
        ErrorCode.ReconnectFailed,
        retries === 0
          ? `gave up: the connection failed and reconnect.maxAttempts is 0: ${failure.message}`
          : `gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'} (reconnect.maxAttempts): ${failure.message}`,
        { cause: failure },
      );
      return { kind: 'stop', status: 'error', error };
    }
    this.attempt++;
    return {
      kind: 'retry',
      wait: backoffDelay(this.attempt, reconnect),
      attempt: this.attempt,
    };
  }

  private decide(close: CloseInfo): CloseDecision {
    const custom = this.options.shouldReconnect?.(close);
    if (custom === true) return 'reconnect';
    if (custom === false) return close.code === 1000 ? 'stop' : 'fatal';
    return custom ?? defaultCloseDecision(close);
  }
}
