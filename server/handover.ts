// Moving a session between processes: its state as one plain, serializable
// record (export), the checks a record read back from storage must pass
// (validate), and a session rebuilt from it on another node (import). The
// session's streams and its connection stay behind: they belong to a process.
import { ErrorCode, RxwireError } from '../src/protocol/index.js';
import { Delivery, type DeliveryRecord } from './delivery.js';
import { ServerSession, type SessionHost } from './session.js';
import type { SessionLink } from './session-link.js';
import type { SessionRequest } from './session-types.js';

/** Version of the {@link SessionRecord} layout. */
export const RECORD_VERSION = 1;

/**
 * Everything a session needs to continue on another node, as plain data
 * (JSON-serializable when `user` is): who it is, the binding of its resume
 * token (the id, and the user by `userKey`), and its delivery state. `cluster`
 * holds what the cluster layer keeps per session (its broadcast position, the
 * remote sends it applied); the session core does not read it.
 */
export interface SessionRecord {
  v: typeof RECORD_VERSION;
  id: string;
  user: unknown;
  /** `userKey(user)`: a resuming connection must authenticate as the same user. */
  userKey: string;
  /** How many times the client resumed the session so far. */
  resumes: number;
  transport: 'websocket' | 'http';
  delivery: DeliveryRecord;
  /** When the session started, in ms since the epoch (a revocation ends sessions started before it). */
  createdAt?: number;
  cluster?: unknown;
}

const EMPTY_DELIVERY: DeliveryRecord = {
  nextSeq: 1,
  peerAck: 0,
  received: 0,
  unacked: [],
  resent: 0,
  duplicates: 0,
};

/** The session's state as a record (a snapshot: the session is not changed). */
export function exportRecord(session: ServerSession<never, unknown>): SessionRecord {
  const { delivery, resumes } = session.handoverState();
  return {
    v: RECORD_VERSION,
    id: session.id,
    user: session.user,
    userKey: session.userKey,
    createdAt: session.createdAt,
    resumes,
    transport: session.transport,
    delivery: delivery?.toRecord() ?? { ...EMPTY_DELIVERY, unacked: [] },
  };
}

/**
 * Freezes a session that moves to another node and returns its record: it
 * takes nothing more here, its connection (if any) is closed with `code`,
 * request streams still running end with a sequenced `$error`
 * RXWIRE_SESSION_MOVED (part of the record, so the client gets it once,
 * after it resumed on the new node), and confirmed sends still waiting are
 * rejected with RXWIRE_SESSION_MOVED (their messages are in the record and
 * will be delivered). The session ends with {@link finishMove} once the
 * cluster has its record.
 */
export function freezeSession(
  session: ServerSession<never, unknown>,
  code: number,
  reason: string,
): SessionRecord {
  session.beginMove(code, reason);
  session.endRequests(
    ErrorCode.SessionMoved,
    'the session moved to another node while this request was running; send it again',
  );
  session.failConfirmations(
    new RxwireError(
      ErrorCode.SessionMoved,
      'the session moved to another node before the client acknowledged; it will still be delivered there',
    ),
  );
  return exportRecord(session);
}

/** Ends a frozen session for good on this node: its streams complete, `closed$` says where it went. */
export function finishMove(
  session: ServerSession<never, unknown>,
  close: { code: number; reason: string },
  to: string | null,
): void {
  session.end({ code: close.code, reason: close.reason, moved: { to } });
}

/**
 * A session rebuilt from `record` on the connection that resumed it: the
 * same id, user and delivery state, one more resume. The caller sends
 * `$welcome` (resumed) and then `session.resend()`, as for a local resume.
 */
export function importRecord(
  record: SessionRecord,
  link: SessionLink | null,
  host: SessionHost,
  request: SessionRequest,
  movedFrom: string,
): ServerSession<never, unknown> {
  return new ServerSession<never, unknown>(record.id, record.user, request, link, host, {
    delivery: Delivery.fromRecord(record.delivery),
    resumes: record.resumes + (link === null ? 0 : 1),
    movedFrom,
    createdAt: typeof record.createdAt === 'number' ? record.createdAt : undefined,
  });
}

/**
 * Checks a record read back from storage (another node wrote it, possibly
 * another version of rxwire) and returns it typed. A record that fails is
 * never half-imported: the caller treats the session as lost.
 */
export function validateRecord(value: unknown): SessionRecord {
  const r = value as Partial<SessionRecord> | null;
  const bad = (what: string): never => {
    throw new RxwireError(ErrorCode.SessionLost, `unusable session record: ${what}`);
  };
  if (typeof r !== 'object' || r === null) return bad('not an object');
  if (r.v !== RECORD_VERSION) return bad(`version ${String(r.v)}, expected ${RECORD_VERSION}`);
  if (typeof r.id !== 'string' || r.id.length === 0) return bad('id');
  if (typeof r.userKey !== 'string') return bad('userKey');
  if (!isCount(r.resumes)) return bad('resumes');
  if (r.transport !== 'websocket' && r.transport !== 'http') return bad('transport');
  const d = r.delivery as Partial<DeliveryRecord> | undefined;
  if (typeof d !== 'object' || d === null) return bad('delivery');
  if (!isCount(d.peerAck) || !isCount(d.received) || !isCount(d.resent) || !isCount(d.duplicates)) {
    return bad('delivery counters');
  }
  if (!Array.isArray(d.unacked) || !d.unacked.every((f) => typeof f === 'string')) {
    return bad('delivery.unacked');
  }
  if (d.nextSeq !== d.peerAck + 1 + d.unacked.length) return bad('delivery.nextSeq');
  return r as SessionRecord;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
