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
 * The reconnection decisions, apart from any socket or timer: attempts since
 * the last `connected`, consecutive failures (which pick the backoff delay),
 * the one immediate retry after a 4401, the close policy and `maxAttempts`.
 */
export class Reconnection {
  /** Attempts since the client was last connected (or since it started). */
  attempt = 0;
  private failures = 0;
  private reauthUsed = false;
  private reauthPending = false;

  constructor(private readonly options: Pick<ResolvedOptions, 'reconnect' | 'shouldReconnect'>) {}

  /** A fresh start (`connect()`, `reconnect()`). */
  reset(): void {
    this.attempt = 0;
    this.failures = 0;
    this.reauthUsed = false;
    this.reauthPending = false;
  }

  /** An attempt starts; says whether it is the very first one (status `connecting`). */
  begin(): { attempt: number; first: boolean } {
    // The immediate retry with a fresh token belongs to the attempt it repeats.
    if (this.reauthPending) this.reauthPending = false;
    else this.attempt++;
    return { attempt: this.attempt, first: this.attempt === 1 && this.failures === 0 };
  }

  /** The connection reached `connected`: counts start over. */
  connected(): void {
    this.attempt = 0;
    this.failures = 0;
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
        this.reauthUsed = true;
        this.reauthPending = true;
        return { kind: 'reauthenticate' };
      case 'reconnect':
        break;
    }
    const { reconnect } = this.options;
    if (!reconnect) return { kind: 'stop', status: 'disconnected', error: failure };
    this.failures++;
    if (this.attempt >= reconnect.maxAttempts) {
      const error = new RxwireError(
        ErrorCode.ReconnectFailed,
        `gave up after ${this.attempt} attempts (reconnect.maxAttempts): ${failure.message}`,
        { cause: failure },
      );
      return { kind: 'stop', status: 'error', error };
    }
    return {
      kind: 'retry',
      wait: backoffDelay(this.failures, reconnect),
      attempt: this.attempt + 1,
    };
  }

  private decide(close: CloseInfo): CloseDecision {
    const custom = this.options.shouldReconnect?.(close);
    if (custom === true) return 'reconnect';
    if (custom === false) return close.code === 1000 ? 'stop' : 'fatal';
    return custom ?? defaultCloseDecision(close);
  }
}
