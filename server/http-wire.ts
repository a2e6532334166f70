// What travels on the HTTP fallback transport's wire (docs/PROTOCOL.md §13),
// apart from the transport itself: the Server-Sent Events the server writes
// and the POST bodies of frames it reads. Both face the network: a POST body
// is whatever a peer sends.

/** One frame of a POST body, validated. */
export type PostedFrame =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Buffer }
  | { kind: 'close'; code: number; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The frames of a POST body, or null when it is not a valid batch. */
export function parseBody(text: string): PostedFrame[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  const frames: PostedFrame[] = [];
  for (const item of value as unknown[]) {
    if (typeof item === 'string') {
      frames.push({ kind: 'text', text: item });
      continue;
    }
    if (typeof item !== 'object' || item === null) return null;
    const { b, close } = item as { b?: unknown; close?: unknown };
    if (typeof b === 'string') {
      if (b.length % 4 !== 0 || !BASE64.test(b)) return null;
      frames.push({ kind: 'binary', bytes: Buffer.from(b, 'base64') });
    } else if (typeof close === 'object' && close !== null) {
      const { code, reason } = close as { code?: unknown; reason?: unknown };
      if (
        code !== undefined &&
        !(Number.isInteger(code) && Number(code) >= 1000 && Number(code) <= 4999)
      ) {
        return null;
      }
      if (reason !== undefined && typeof reason !== 'string') return null;
      frames.push({
        kind: 'close',
        code: (code as number | undefined) ?? 1005,
        reason: reason ?? '',
      });
    } else {
      return null;
    }
  }
  return frames;
}

/**
 * One Server-Sent Event: `event:` when it is not a plain message, then the
 * data, one `data:` line per line of it (a receiver joins them with LF), then
 * the blank line that dispatches it. JSON text has no raw line breaks, so a
 * frame is always one `data:` line.
 */
export function sseEvent(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  const lines = data.includes('\n') || data.includes('\r') ? data.split(LINE_BREAK) : null;
  return `${head}data: ${lines === null ? data : lines.join('\ndata: ')}\n\n`;
}

const LINE_BREAK = /\r\n|\r|\n/;
