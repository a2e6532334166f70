import type { CloseInfo } from '../protocol/index.js';

/**
 * What the platform said about a connection that failed before or without a
 * close frame, read from the socket's `error` event: Node's `ws` passes an
 * event whose `error` has a `code` (`ECONNREFUSED`, `ENOTFOUND`, TLS codes)
 * or the message `Unexpected server response: 503` for a refused upgrade;
 * the HTTP transport passes `HTTP 503 ...` or fetch's error with a `cause`.
 * Browsers give nothing, and nothing is returned.
 */
export function failureCause(event: unknown): Pick<CloseInfo, 'cause' | 'httpStatus'> {
  const error = errorOf(event);
  if (error === undefined) return {};
  const message = typeof error.message === 'string' ? error.message : '';
  const status = /(?:Unexpected server response|HTTP):? (\d{3})\b/.exec(message);
  if (status !== null) {
    const httpStatus = Number(status[1]);
    return { cause: `HTTP ${httpStatus}`, httpStatus };
  }
  const nested = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code =
    typeof error.code === 'string'
      ? error.code
      : typeof nested?.code === 'string'
        ? nested.code
        : undefined;
  if (code !== undefined) return { cause: code };
  const text = typeof nested?.message === 'string' ? nested.message : message;
  return text ? { cause: text.slice(0, 200) } : {};
}

function errorOf(
  event: unknown,
): { message?: unknown; code?: unknown; cause?: unknown } | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const inner = (event as { error?: unknown }).error;
  if (typeof inner === 'object' && inner !== null) return inner as { message?: unknown };
  if (event instanceof Error) return event as { message?: unknown };
  // ws's ErrorEvent without an error object still has a message.
  const message = (event as { message?: unknown }).message;
  return typeof message === 'string' && message ? { message } : undefined;
}
