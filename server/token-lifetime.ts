// Sessions end with their token. A session whose authentication said when the
// token expires asks its client for a fresh one before then (`$refresh`), in
// band; the client answers `$auth {token}` without reconnecting. A valid
// token for the same user extends the session (`$refreshed`); an invalid one
// closes the connection with 4401 at once, another user's with 4403, and no
// answer by the expiry plus the leeway with 4401. A 4401 leaves the session
// resumable: the client reconnects with a fresh token and resumes it, so
// nothing is lost; a resume needs a valid token of the same user anyway.
import type { IncomingMessage } from 'node:http';
import {
  CloseCode,
  Control,
  ErrorCode,
  type AuthPayload,
  type RefreshPayload,
  type RefreshedPayload,
  type Envelope,
} from '../src/protocol/index.js';
import type { AuthOutcome } from './auth.js';
import { encodeFrame } from './frames.js';
import { userKeyOf, type ResolvedOptions } from './resolve-options.js';

/** Node's timers hold at most this many ms; a longer wait is made of hops. */
const MAX_TIMER_MS = 2_147_483_647;

/** What the lifetime needs from the server. */
export interface TokenHost {
  readonly options: ResolvedOptions;
  readonly nextId: () => string;
  readonly authenticate: (
    token: string | undefined,
    request: IncomingMessage,
  ) => Promise<AuthOutcome<unknown>>;
}

/** What the lifetime needs from its session. */
export interface TokenSession {
  readonly id: string;
  readonly user: unknown;
  /** The session's user key (see `userKeyOf`). */
  readonly userKey: string;
  readonly connected: boolean;
  readonly state: 'open' | 'closing' | 'closed';
  /** What authenticate gets again on a refresh: the session's request (url, headers, socket). */
  readonly request: unknown;
  /** Sends an unsequenced control frame on the current connection, if any. */
  sendNow(frame: string): void;
  /** Closes the current connection; `resumable` keeps the session for a resume. */
  closeLink(code: number, reason: string, resumable: boolean): void;
  /** The refreshed token's user (same `userKey`) replaces the old one. */
  renew(user: unknown): void;
}

/** The token of one session: when it expires, and the timers that act on it. */
export class TokenLifetime {
  /** When the current token expires, in ms since the epoch; undefined when it does not. */
  expiresAt: number | undefined = undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** A `$auth` is being checked: a second one waits for nothing. */
  private checking = false;

  constructor(
    private readonly session: TokenSession,
    private readonly host: TokenHost,
  ) {}

  /** A token was accepted (at `$hello`, a resume or a refresh): schedule around its expiry. */
  set(expiresAt: number | undefined): void {
    this.stop();
    this.expiresAt = expiresAt;
    const settings = this.host.options.tokenExpiry;
    if (expiresAt === undefined || settings === null) return;
    const now = Date.now();
    const life = Math.max(0, expiresAt - now);
    const askAt = expiresAt - Math.min(settings.refreshBefore, life / 2);
    this.arm('refreshTimer', askAt, () => this.ask());
    this.arm('deadlineTimer', expiresAt + settings.leeway, () => this.expire());
  }

  /** Runs `fire` at time `at`; a wait past Node's timer limit is made of hops. */
  private arm(slot: 'refreshTimer' | 'deadlineTimer', at: number, fire: () => void): void {
    const wait = Math.max(0, at - Date.now());
    const timer = setTimeout(
      () => {
        if (wait > MAX_TIMER_MS) this.arm(slot, at, fire);
        else {
          this[slot] = undefined;
          fire();
        }
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    timer.unref?.();
    this[slot] = timer;
  }

  /** The session ended: no more timers. */
  stop(): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.refreshTimer = undefined;
    this.deadlineTimer = undefined;
  }

  /** `$auth` from the client: check the fresh token like a `$hello`'s. */
  receive(envelope: Envelope, reject: (code: string, message: string) => void): void {
    const payload = envelope.payload as Partial<AuthPayload> | null;
    if (typeof payload !== 'object' || payload === null || typeof payload.token !== 'string') {
      reject(ErrorCode.BadEnvelope, "'$auth' needs a payload {token: string}");
      return;
    }
    if (this.checking) return;
    this.checking = true;
    const { session, host } = this;
    host.authenticate(payload.token, session.request as IncomingMessage).then(
      (outcome) => {
        this.checking = false;
        if (session.state !== 'open') return;
        this.verdict(outcome, envelope.id);
      },
      (error: unknown) => {
        this.checking = false;
        host.options.logger.error('authentication crashed during a token refresh', {
          session: session.id,
          error: String(error),
        });
        session.closeLink(CloseCode.InternalError, 'authentication failed', true);
      },
    );
  }

  private verdict(outcome: AuthOutcome<unknown>, authId: string): void {
    const { session, host } = this;
    const { logger } = host.options;
    if (!outcome.ok) {
      logger.info('token refresh refused', { session: session.id, reason: outcome.reason });
      // 4401 keeps the session: the client comes back with a token that works and resumes.
      session.closeLink(
        outcome.code,
        `token refresh failed: ${outcome.reason}`,
        outcome.code === CloseCode.Unauthorized,
      );
      return;
    }
    if (userKeyOf(host.options, outcome.user) !== session.userKey) {
      logger.warn('token refresh for another user refused', { session: session.id });
      session.closeLink(CloseCode.Forbidden, 'token refresh for another user', false);
      return;
    }
    session.renew(outcome.user);
    this.set(outcome.expiresAt);
    const expiresAt = outcome.expiresAt;
    session.sendNow(
      encodeFrame(
        Control.Refreshed,
        host.nextId(),
        {
          expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
        } satisfies RefreshedPayload,
        authId,
      ),
    );
    logger.debug('token refreshed', { session: session.id, expiresAt });
  }

  /** Before the expiry: ask the client for a fresh token (a detached session is asked by its resume). */
  private ask(): void {
    const { session, expiresAt } = this;
    if (expiresAt === undefined || !session.connected || session.state !== 'open') return;
    session.sendNow(
      encodeFrame(Control.Refresh, this.host.nextId(), {
        expiresAt: new Date(expiresAt).toISOString(),
      } satisfies RefreshPayload),
    );
  }

  /** The expiry plus the leeway passed without a fresh token: the connection ends with 4401. */
  private expire(): void {
    const { session } = this;
    if (!session.connected || session.state !== 'open') return;
    this.host.options.logger.info('token expired, closing', { session: session.id });
    session.closeLink(CloseCode.Unauthorized, 'token expired', true);
  }
}
