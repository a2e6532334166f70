// The connection that carries a session, and what happens when it changes: a
// resuming connection takes the session over (attach, then resend), a dropped
// one leaves it waiting `recoveryWindow` for the client to come back (detach).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CloseCode, type RxwireError } from '../src/protocol/index.js';
import type { Delivery } from './delivery.js';
import type { LimitedLog } from './logger.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { RequestStreams } from './requests.js';
import type { SessionClose, SessionState } from './session-types.js';
import type { TokenLifetime } from './token-lifetime.js';

/** What a session needs from the connection that carries it. */
export interface SessionLink {
  /** Sends a frame if the socket is open. */
  send(text: string): void;
  /**
   * Closes the socket from the server side. The session ends with it, unless
   * `resumable` (a close the client may come back from, such as an expired
   * token's 4401): then it waits `recoveryWindow` for a resume.
   */
  close(code: number, reason: string, resumable?: boolean): void;
  /** Logs a rejected client frame (rate-limited per connection). */
  report(message: string, context: Record<string, unknown>): void;
  /** What carries the link. @default 'websocket' */
  readonly transport?: 'websocket' | 'http';
}

/**
 * The parts of a session only some sessions ever need (resumes, confirmed
 * sends, request streams, failure logs) or need only once their connection
 * is gone, in one object made on first use, so that an idle session does not
 * carry their fields.
 */
export class RareState {
  /** What carried the session last, once no connection does. */
  lastTransport: 'websocket' | 'http' | undefined = undefined;
  /** How the session ended, once it has (streams made after that start ended). */
  ending: SessionClose | undefined = undefined;
  resumes = 0;
  /** Ends the session when the recovery window runs out. */
  expiry: ReturnType<typeof setTimeout> | undefined = undefined;
  confirmations: Set<(error: RxwireError) => void> | undefined = undefined;
  failures: LimitedLog | undefined = undefined;
  requests: RequestStreams | undefined = undefined;
  /** When the session's token expires, and the refresh around it (token-lifetime.ts). */
  tokens: TokenLifetime | undefined = undefined;
  /** The session is being (or was) handed to another node (see handover.ts). */
  moving = false;
}

/**
 * The link half of a session (the base of `ServerSession`): which connection
 * carries it, taking over a resuming connection, and the recovery window that
 * keeps a session whose connection dropped. Everything here runs per
 * connection, never per message.
 */
export abstract class LinkedSession {
  protected current: SessionState = 'open';
  protected link: SessionLink | null;
  protected rare: RareState | undefined = undefined;

  constructor(link: SessionLink | null) {
    this.link = link;
  }

  abstract readonly id: string;
  protected abstract readonly linkOptions: ResolvedOptions;
  /** The delivery state, if any message was ever sent or received. */
  protected abstract get deliveryState(): Delivery | undefined;
  /** `connected` changed (streams emit it). */
  protected abstract linkChanged(up: boolean): void;
  /** The session is over for good. */
  abstract end(close: SessionClose): void;

  get state(): SessionState {
    return this.current;
  }

  /** What carries the session now (the last transport while it waits for a resume). */
  get transport(): 'websocket' | 'http' {
    const link = this.link;
    if (link !== null) return link.transport ?? 'websocket';
    return this.rare?.lastTransport ?? 'websocket';
  }

  get connected(): boolean {
    return this.link !== null && this.current !== 'closed';
  }

  /**
   * Moves the session onto a resuming connection: the old one (if still up)
   * is closed 4409; the caller sends `$welcome`, then {@link resend}.
   */
  attach(link: SessionLink): void {
    const old = this.link;
    this.link = link;
    const rare = this.rareState;
    rare.resumes++;
    this.stopExpiry();
    old?.close(CloseCode.DuplicateSession, 'the session was resumed on another connection');
    const delivery = this.deliveryState;
    if (delivery !== undefined) delivery.ackSent = delivery.received; // $welcome carries it
    if (old === null) this.linkChanged(true);
  }

  /** Resends, in order, everything the client has not acknowledged. */
  resend(): void {
    const link = this.link;
    const delivery = this.deliveryState;
    if (link === null || delivery === undefined) return;
    const pending = delivery.pending();
    delivery.resent += pending.length;
    for (const entry of pending) link.send(entry.value);
  }

  /**
   * The connection carrying this session is gone. A `final` close (the
   * client said goodbye, the server closed it, no recovery window) ends the
   * session; otherwise it waits `recoveryWindow` for the client to resume.
   */
  detach(link: SessionLink, close: SessionClose, final: boolean): void {
    if (this.link !== link || this.current === 'closed') return;
    this.unlink();
    const window = this.linkOptions.recoveryWindow;
    if (final || window === 0 || this.current === 'closing') {
      this.end(close);
      return;
    }
    this.linkOptions.logger.debug('session detached, waiting for a resume', {
      session: this.id,
      code: close.code,
    });
    this.waitForResume(close.code);
  }

  /** True from the moment the session started moving to another node. */
  get moving(): boolean {
    return this.rare?.moving ?? false;
  }

  /**
   * Starts moving the session to another node: it takes nothing more here
   * (its state is `'closing'`), and its connection, if any, is closed with
   * `code` without ending it.
   */
  beginMove(code: number, reason: string): void {
    this.current = 'closing';
    this.rareState.moving = true;
    this.stopExpiry();
    const link = this.link;
    this.unlink();
    link?.close(code, reason);
  }

  /** A session without a connection (moved in after its client left) waits for a resume. */
  awaitResume(): void {
    if (this.link === null && this.current === 'open') this.waitForResume(CloseCode.Abnormal);
  }

  /** Forgets the connection (the socket is gone or being closed); the session stays. */
  protected unlink(): void {
    const link = this.link;
    if (link === null) return;
    this.link = null;
    this.rareState.lastTransport = link.transport ?? 'websocket';
    this.linkChanged(false);
    this.deliveryState?.stopAckTimer();
  }

  /** Ends the session unless a connection resumes it within `recoveryWindow`. */
  protected waitForResume(code: number): void {
    const window = this.linkOptions.recoveryWindow;
    const rare = this.rareState;
    if (rare.expiry !== undefined) return;
    rare.expiry = setTimeout(
      () =>
        this.end({
          code,
          reason: `not resumed within the recovery window (${window} ms)`,
          expired: true,
        }),
      window,
    );
    rare.expiry.unref?.();
  }

  protected stopExpiry(): void {
    const rare = this.rare;
    if (rare?.expiry !== undefined) {
      clearTimeout(rare.expiry);
      rare.expiry = undefined;
    }
  }

  protected get rareState(): RareState {
    return (this.rare ??= new RareState());
  }
}

/**
 * The resume token of session `id` under `key`: 24 bytes of HMAC-SHA256,
 * base64url (32 characters). It binds a resuming connection to the session;
 * the user it authenticates as is checked too (`userKey`).
 */
export function resumeToken(key: Uint8Array, id: string): string {
  return createHmac('sha256', key).update(id).digest().subarray(0, 24).toString('base64url');
}

/** True when `token` is the resume token of `id` under `key` (compared in constant time). */
export function verifyResumeToken(key: Uint8Array, id: string, token: string): boolean {
  const a = Buffer.from(token);
  const b = Buffer.from(resumeToken(key, id));
  return a.length === b.length && timingSafeEqual(a, b);
}
