// Which session an authenticated connection gets: the session it resumes when
// this server holds it, the same session taken over from another node of a
// cluster, or a new one. Everything here runs once per connection.
import { CloseCode, type ResumeRequest } from '../src/protocol/index.js';
import type { TakeoverResult } from './cluster.js';
import type { ConnectionHost } from './connection-types.js';
import { ServerSession, type SessionLink, type SessionRequest } from './session.js';
import { verifyResumeToken } from './session-link.js';

/** What admission needs from the connection it admits (see `Connection`). */
export interface Admitting extends SessionLink {
  /** The connection's id; a new session takes it as its id. */
  readonly id: string;
  /** True while the connection waits for its session (false once open or closed). */
  readonly waiting: boolean;
  /** The opening request, as a session keeps it. */
  sessionRequest(): SessionRequest;
  /** Opens the connection on `session`: `$welcome`, and for a resumed one what the client missed. */
  begin(session: ServerSession<never, unknown>, helloId: string, resumed: boolean): void;
  /** Hands the frames pipelined after `$hello` to the session. */
  replayEarly(): void;
}

/** Gives an authenticated connection its session. */
export function admit(
  connection: Admitting,
  host: ConnectionHost,
  user: unknown,
  helloId: string,
  resume: ResumeRequest | undefined,
): void {
  const existing = resume !== undefined ? host.session(resume.sessionId) : undefined;
  if (existing !== undefined && existing.state === 'open') {
    resumeHere(connection, host, existing, user, helloId, resume!);
  } else if (
    resume !== undefined &&
    host.cluster !== null &&
    (existing === undefined || existing.moving) &&
    verifyResumeToken(host.resumeKey, resume.sessionId, resume.token)
  ) {
    // Another node holds the session (or this one is handing it over): take
    // it over. A wrong token never gets this far, so a guessed session id
    // cannot make a node give up a session.
    host
      .takeOver(resume.sessionId, user, () => connection.waiting)
      .then(
        (result) => tookOver(connection, host, result, user, helloId, resume),
        (error: unknown) => {
          host.options.logger.error('session takeover crashed', {
            session: resume.sessionId,
            error: String(error),
          });
          connection.close(CloseCode.InternalError, 'session takeover failed');
        },
      );
  } else {
    startSession(connection, host, user, helloId);
  }
}

/** The session lives here: move it onto this connection. */
function resumeHere(
  connection: Admitting,
  host: ConnectionHost,
  existing: ServerSession<never, unknown>,
  user: unknown,
  helloId: string,
  resume: ResumeRequest,
): void {
  if (!existing.mayResume(resume.token, user)) {
    host.options.logger.warn('resume refused: wrong token or another user', {
      connection: connection.id,
      session: existing.id,
    });
    connection.close(CloseCode.Forbidden, 'resume refused');
    return;
  }
  if (!existing.acknowledged(resume.ack)) {
    connection.close(CloseCode.BadRequest, `resume ack ${resume.ack} for a message never sent`);
    return;
  }
  connection.begin(existing, helloId, true);
  host.options.logger.debug('session resumed', { session: existing.id, connection: connection.id });
  connection.replayEarly();
}

/**
 * A new session (no resume asked, or nobody has the session any more). On a
 * clustered server it is registered first, so the id the client gets in
 * `$welcome` is known to every node.
 */
function startSession(
  connection: Admitting,
  host: ConnectionHost,
  user: unknown,
  helloId: string,
): void {
  const cluster = host.cluster;
  if (cluster === null) {
    openSession(connection, host, user, helloId);
    return;
  }
  cluster.reserve(connection.id, user).then(() => {
    if (connection.waiting) openSession(connection, host, user, helloId);
    else cluster.discard(connection.id);
  });
}

function openSession(
  connection: Admitting,
  host: ConnectionHost,
  user: unknown,
  helloId: string,
): void {
  const session = new ServerSession<never, unknown>(
    connection.id,
    user,
    connection.sessionRequest(),
    connection,
    host,
  );
  connection.begin(session, helloId, false);
  host.options.logger.debug('session opened', { session: connection.id });
  host.opened(session);
  connection.replayEarly();
}

/** What the cluster answered about a session held by another node. */
function tookOver(
  connection: Admitting,
  host: ConnectionHost,
  result: TakeoverResult,
  user: unknown,
  helloId: string,
  resume: ResumeRequest,
): void {
  const { logger } = host.options;
  if (!connection.waiting) {
    // The client left while the session moved: keep it here, waiting for its resume.
    if (result.kind === 'record') host.adoptDetached(result);
    return;
  }
  switch (result.kind) {
    case 'new':
      startSession(connection, host, user, helloId);
      return;
    case 'again': {
      // Another connection here took the session over meanwhile.
      const here = host.session(resume.sessionId);
      if (here !== undefined && here.state === 'open') {
        resumeHere(connection, host, here, user, helloId, resume);
      } else {
        connection.close(CloseCode.TryAgainLater, 'try again: the session is moving', true);
      }
      return;
    }
    case 'forbidden':
      logger.warn('resume refused: another user', {
        connection: connection.id,
        session: resume.sessionId,
      });
      connection.close(CloseCode.Forbidden, 'resume refused');
      return;
    case 'retry':
      logger.info('resume deferred: the cluster cannot move the session now', {
        session: resume.sessionId,
        reason: result.reason,
      });
      connection.close(CloseCode.TryAgainLater, `try again: ${result.reason}`, true);
      return;
  }
  const session = host.adopt(result, connection.sessionRequest());
  if (session === null) {
    // Revoked while between nodes (see ServerCore.adopt): the client gets a new session.
    startSession(connection, host, user, helloId);
    return;
  }
  if (!session.acknowledged(resume.ack)) {
    host.park(session);
    connection.close(CloseCode.BadRequest, `resume ack ${resume.ack} for a message never sent`);
    return;
  }
  connection.begin(session, helloId, true);
  logger.info('session moved in', {
    session: session.id,
    from: result.from,
    connection: connection.id,
  });
  host.announce(session);
  connection.replayEarly();
}
