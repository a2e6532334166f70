// Words for the connection state: the header's label, the backoff line, and
// what went wrong with what to do about it. Pure functions of ConnectionState.
import {
  CloseCode,
  ErrorCode,
  type CloseInfo,
  type ConnectionState,
  type ConnectionStatus,
} from '../../src/index.js';
import type { DemoDebug } from '../server.js';

/** A close as the event log shows it: "refused: 503", "failed: ECONNREFUSED", or "closed 1013 “reason”". */
export function closeLine(close: CloseInfo): string {
  const { httpStatus, cause } = close;
  if (httpStatus !== undefined) return `refused: ${httpStatus}`;
  if (cause !== undefined) return `failed: ${cause}`;
  return `closed ${close.code}${close.reason ? ` “${close.reason}”` : ''}`;
}

/** A 1006 that says nothing more: no reason, no HTTP status, no cause. */
export function isBareAbnormal(close: CloseInfo): boolean {
  const { httpStatus, cause } = close;
  return close.code === CloseCode.Abnormal && !close.reason && httpStatus === undefined && !cause;
}

/**
 * What the demo's gate answers upgrades with right now, from `GET
 * /demo/debug`: "refused: 503" while it refuses connections, "refused: 403"
 * while WebSocket is blocked (for an attempt over WebSocket); else undefined.
 */
export function refusedBy(
  debug: Pick<DemoDebug, 'outage' | 'webSocket'>,
  transport: string | undefined,
): string | undefined {
  if (debug.outage.refusingUntil !== null) return 'refused: 503';
  if (debug.webSocket.blocked && transport === 'websocket') return 'refused: 403';
  return undefined;
}

export const statusLabel: Record<ConnectionStatus, string> = {
  idle: 'not connected',
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  disconnecting: 'disconnecting…',
  disconnected: 'disconnected',
  error: 'error',
};

/** "3 s", or "0.4 s" under a second. */
export function seconds(ms: number): string {
  const clamped = Math.max(0, ms);
  return clamped >= 1000 ? `${Math.ceil(clamped / 1000)} s` : `${(clamped / 1000).toFixed(1)} s`;
}

/** "retry 2 of 5 in 3 s" while waiting; "retry 2 of 5, trying now" while trying. */
export function backoffLine(state: ConnectionState, now: number): string {
  if (state.status !== 'reconnecting' && state.status !== 'connecting') return '';
  if (state.attempt === 0) return '';
  const of = Number.isFinite(state.maxAttempts) ? ` of ${state.maxAttempts}` : '';
  const retry = `retry ${state.attempt}${of}`;
  return state.retryAt !== undefined
    ? `${retry} in ${seconds(state.retryAt - now)}`
    : `${retry}, trying now`;
}

/** What a close code means for the user. */
export function closeAdvice(close: CloseInfo | undefined): string {
  if (!close) return 'The connection failed. Reconnecting with backoff.';
  const { httpStatus, cause } = close;
  if (httpStatus !== undefined)
    return `The server refused the upgrade (HTTP ${httpStatus}). Reconnecting with backoff.`;
  if (cause)
    return `The connection failed (${cause}): the server is down or unreachable. Reconnecting with backoff.`;
  const why = close.reason ? ` (“${close.reason}”)` : '';
  switch (close.code) {
    case CloseCode.GoingAway:
      return `The server is going away${why}: it is shutting down or restarting. Reconnecting with backoff.`;
    case CloseCode.Abnormal:
      return 'The connection dropped without a close frame: the network is down, the server is gone, or it refused the upgrade. Reconnecting with backoff.';
    case CloseCode.InternalError:
      return `The server hit an internal error${why}. Reconnecting with backoff.`;
    case CloseCode.ServiceRestart:
      return `The server restarted${why}. Reconnecting with backoff.`;
    case CloseCode.TryAgainLater:
      return `The server is refusing connections for now${why}. Reconnecting with backoff; messages you send wait in the queue.`;
    case CloseCode.Unauthorized:
      return `The server refused the token${why}: fetching a fresh one and trying once more at once.`;
    case CloseCode.HelloTimeout:
      return 'The server got no $hello in time. Reconnecting with backoff.';
    case CloseCode.TooManyRequests:
      return 'Too many messages too fast (4429). Reconnecting with backoff: send less often.';
    case CloseCode.Forbidden:
      return `Signed in, but not allowed here${why} (4403): use another account, then press Retry.`;
    case CloseCode.BadRequest:
    case CloseCode.PolicyViolation:
      return `The server rejected what this client sent${why} (${close.code}): reload the page, then press Retry.`;
    case CloseCode.MessageTooBig:
      return 'A message was larger than the server accepts (1009): send less at once, then press Retry.';
    case CloseCode.DuplicateSession:
      return 'This session is open somewhere else (4409): close the other tab, then press Retry.';
    default:
      return `The connection closed with ${close.code}${why}.`;
  }
}

/**
 * What went wrong and what to do, for the banner under the header; undefined
 * when all is well.
 */
export function explain(state: ConnectionState, signedOut: boolean): string | undefined {
  const { status, error, lastClose } = state;
  if (status === 'connected' || status === 'idle' || status === 'disconnecting') return undefined;
  if (!error) {
    if (status !== 'disconnected') return undefined;
    if (signedOut) return 'You signed out. Sign in to connect again.';
    return lastClose
      ? `The server closed the connection (${lastClose.code}${lastClose.reason ? ` “${lastClose.reason}”` : ''}) and asked us not to come back: press Retry.`
      : 'Disconnected: press Retry.';
  }
  switch (error.code) {
    case ErrorCode.Unauthorized:
      return 'The server refused the token twice in a row (4401): your session is not valid any more. Sign in again.';
    case ErrorCode.Forbidden:
      return closeAdvice(lastClose ?? { code: CloseCode.Forbidden, reason: '', wasClean: true });
    case ErrorCode.ReconnectFailed: {
      const cause = (error as { cause?: { code?: string } }).cause;
      const detail =
        cause?.code === ErrorCode.TokenFailed
          ? ' (even POST /demo/login did not answer)'
          : lastClose
            ? ` (last close ${lastClose.code})`
            : '';
      return `Gave up after ${state.maxAttempts} ${state.maxAttempts === 1 ? 'retry' : 'retries'}${detail}: the server cannot be reached. Check that it runs (npm start), then press Retry.`;
    }
    case ErrorCode.TokenFailed:
      return 'Could not get a token: POST /demo/login did not answer, so the server is probably down. Retrying with backoff.';
    case ErrorCode.ConnectTimeout:
      return 'The socket opened but no $welcome came in time: the server is overloaded or not an rxwire server. Retrying with backoff.';
    case ErrorCode.HeartbeatTimeout:
      return 'No $pong came back in time: the connection was half-open. Reconnecting with backoff.';
    case ErrorCode.ConnectionClosed:
      return status === 'error' ? `${closeAdvice(lastClose)} Press Retry.` : closeAdvice(lastClose);
    default:
      return `${error.code}: ${error.message}${status === 'error' ? ' Press Retry.' : ''}`;
  }
}

/** What a failed chat request means. */
export function requestAdvice(error: unknown): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case ErrorCode.ConnectionLost:
      return 'The connection dropped during the reply: send the message again.';
    case ErrorCode.RequestTimeout:
      return 'The server stopped answering: send the message again.';
    case ErrorCode.InvalidPayload:
      return 'The server rejected the message.';
    default:
      return `${code ?? 'error'}: ${String((error as Error)?.message ?? error)}`;
  }
}

/** What a microphone error means. */
export function micAdvice(error: unknown): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case ErrorCode.MicPermissionDenied:
      return 'The browser refused the microphone: allow it for this site (the icon in the address bar), then press Start.';
    case ErrorCode.MicNotFound:
      return 'No microphone found: plug one in, then press Start.';
    case ErrorCode.MicUnsupported:
      return 'This browser cannot capture audio here: use a current browser, on https or localhost.';
    case ErrorCode.MicFailed:
      return 'The microphone could not start: another application may be using it.';
    default:
      return `${code ?? 'error'}: ${String((error as Error)?.message ?? error)}`;
  }
}

/** How the header and the event log name a transport. */
export const transportLabel = { websocket: 'via WebSocket', http: 'via HTTP' } as const;

/** ", waiting 1.5 s" while a retry is scheduled. */
function waiting(state: ConnectionState): string {
  return state.retryInMs !== undefined ? `, waiting ${seconds(state.retryInMs)}` : '';
}

/**
 * The event log's lines for a change of state: a close (with the close itself,
 * so a page can explain a bare 1006), a transport switch, a new status, or a
 * new attempt of a reconnection.
 */
export function describeChange(
  previous: ConnectionState | undefined,
  state: ConnectionState,
): Array<{ text: string; close?: CloseInfo }> {
  const lines: Array<{ text: string; close?: CloseInfo }> = [];
  if (state.lastClose && state.lastClose !== previous?.lastClose) {
    const close = state.lastClose;
    const next =
      close.code === CloseCode.Unauthorized && state.status !== 'error'
        ? ' → retrying at once with a fresh token'
        : '';
    lines.push({ text: `${closeLine(close)}${next}`, close });
  }
  if (previous && state.transport !== previous.transport) {
    lines.push({ text: `switching transport: next attempt ${transportLabel[state.transport]}` });
  }
  if (state.status !== previous?.status) {
    let text = statusLabel[state.status];
    if (state.status === 'connected') {
      const kind = previous?.sessionId === undefined ? '' : state.resumed ? 'resumed ' : 'new ';
      text = `connected: ${kind}session ${state.sessionId ?? '?'} ${transportLabel[state.transport]} (${Math.round(state.latencyMs ?? 0)} ms)`;
    } else if (state.status === 'reconnecting' || state.status === 'connecting') {
      if (state.attempt > 0) text += ` retry ${state.attempt} of ${state.maxAttempts}`;
      text += waiting(state);
    } else if (state.error) {
      text += ` ${state.error.code}`;
    }
    lines.push({ text });
  } else if (state.status === 'reconnecting' && state.attempt !== previous.attempt) {
    lines.push({ text: `retry ${state.attempt} of ${state.maxAttempts}${waiting(state)}` });
  }
  return lines;
}
