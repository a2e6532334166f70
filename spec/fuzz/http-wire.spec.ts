// Property-based tests of what the HTTP fallback transport parses
// (docs/PROTOCOL.md §13): the client's Server-Sent Events parser
// (src/client/http-socket.ts) against the WHATWG rules, for any stream cut
// into any chunks; what the server writes (server/http-wire.ts `sseEvent`)
// reads back exactly; and the server's POST body parser (`parseBody`) takes
// exactly the batches §13.3 allows and gives back the frames a client put in.
import fc from 'fast-check';
import { SseParser } from '../../src/client/http-socket.js';
import { parseBody, sseEvent, type PostedFrame } from '../../server/http-wire.js';
import { anyString } from './arbitraries.js';

const runs = { numRuns: 2_000 };

/**
 * The WHATWG event-stream rules rxwire relies on, over the whole stream at
 * once: only complete lines count; `:` starts a comment; `field: value` (one
 * leading space of the value dropped); `data` values are joined with LF; a
 * blank line dispatches when there is data, as `event` or 'message'.
 */
function referenceEvents(stream: string): Array<[string, string]> {
  const events: Array<[string, string]> = [];
  const end = Math.max(stream.lastIndexOf('\n'), stream.lastIndexOf('\r'));
  const lines = stream.slice(0, end + 1).split(/\r\n|\r|\n/);
  lines.pop(); // what follows the last line break: an unfinished line
  let type = '';
  let data = '';
  for (const line of lines) {
    if (line === '') {
      if (data !== '') events.push([type || 'message', data.slice(0, -1)]);
      type = '';
      data = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data += `${value}\n`;
  }
  return events;
}

/** Feeds `stream` to a fresh SseParser in the given pieces. */
function parse(pieces: readonly string[]): Array<[string, string]> {
  const events: Array<[string, string]> = [];
  const parser = new SseParser((event, data) => events.push([event, data]));
  for (const piece of pieces) parser.push(piece);
  return events;
}

/** `text` cut at the given points (modulo its length), with an empty piece after the flagged ones. */
function cut(text: string, points: ReadonlyArray<[number, boolean]>): string[] {
  const at = points.map(([p, empty]) => [p % (text.length + 1), empty] as const);
  at.sort((a, b) => a[0] - b[0]);
  const pieces: string[] = [];
  let from = 0;
  for (const [p, empty] of at) {
    pieces.push(text.slice(from, p));
    if (empty) pieces.push('');
    from = p;
  }
  pieces.push(text.slice(from));
  return pieces;
}

const cuts = fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 8 });

const noBreak = anyString(30).map((s) => s.replace(/[\r\n]/g, ' '));
const lineBreak = fc.constantFrom('\n', '\r\n', '\r');

/** Event streams: what the server writes, comments, odd fields and stray line breaks, in any mix. */
const stream = fc
  .array(
    fc.oneof(
      fc
        .tuple(anyString(40), fc.option(noBreak, { nil: undefined }))
        .map(([d, e]) => sseEvent(d, e)),
      fc.constant(': keepalive\n\n'),
      fc
        .tuple(
          fc.constantFrom('data', 'event', 'id', 'retry', ':', 'data:', ''),
          noBreak,
          lineBreak,
        )
        .map(([field, value, end]) => `${field}:${value}${end}`),
      fc.tuple(noBreak, lineBreak).map(([line, end]) => `${line}${end}`),
      lineBreak,
      anyString(10),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

describe('the SSE parser (client)', () => {
  it('dispatches what the WHATWG rules do, for any stream cut into any chunks (empty ones too)', () => {
    fc.assert(
      fc.property(stream, cuts, (text, points) => {
        expect(parse(cut(text, points))).toEqual(referenceEvents(text));
      }),
      runs,
    );
  });

  it('reads back exactly what the server writes, chunked anyhow', () => {
    const event = fc.record({
      data: anyString(60),
      event: fc.option(noBreak, { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 6 }), cuts, (events, points) => {
        const text = events.map(({ data, event }) => sseEvent(data, event)).join(': keepalive\n\n');
        expect(parse(cut(text, points))).toEqual(
          // Line breaks inside data come back as LF (JSON text has none).
          events.map(({ data, event }) => [event || 'message', data.replace(/\r\n|\r/g, '\n')]),
        );
      }),
      runs,
    );
  });

  it('keeps a CRLF split by an empty chunk as one line break', () => {
    expect(parse(['data: a\r', '', '\ndata: b\n\n'])).toEqual([['message', 'a\nb']]);
  });
});

/** What §13.3 allows in a POST body, read again from the document. */
function documentedBody(value: unknown): PostedFrame[] | null {
  if (!Array.isArray(value)) return null;
  const frames: PostedFrame[] = [];
  for (const item of value as unknown[]) {
    if (typeof item === 'string') {
      frames.push({ kind: 'text', text: item });
    } else if (
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { b?: unknown }).b === 'string'
    ) {
      const b = (item as { b: string }).b;
      // Standard base64 with padding.
      if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b)) return null;
      frames.push({ kind: 'binary', bytes: Buffer.from(b, 'base64') });
    } else if (
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { close?: unknown }).close === 'object' &&
      (item as { close: unknown }).close !== null
    ) {
      const { code, reason } = (item as { close: { code?: unknown; reason?: unknown } }).close;
      if (
        code !== undefined &&
        !(typeof code === 'number' && Number.isInteger(code) && code >= 1000 && code <= 4999)
      )
        return null;
      if (reason !== undefined && typeof reason !== 'string') return null;
      frames.push({ kind: 'close', code: code ?? 1005, reason: reason ?? '' });
    } else {
      return null;
    }
  }
  return frames;
}

const bodyItem = fc.oneof(
  anyString(30),
  fc.uint8Array({ maxLength: 30 }).map((bytes) => ({ b: Buffer.from(bytes).toString('base64') })),
  fc
    .record(
      {
        code: fc.oneof(fc.integer({ min: 990, max: 5010 }), fc.jsonValue({ maxDepth: 1 })),
        reason: fc.oneof(anyString(20), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    .map((close) => ({ close })),
  fc.record({
    b: fc.oneof(anyString(12), fc.constantFrom('AA==', 'AAA=', 'A===', '====', 'AAAA', 'AA', '')),
  }),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('the POST body parser (server)', () => {
  it('takes exactly the batches §13.3 allows, for any JSON and any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(bodyItem, { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
        (value) => {
          expect(parseBody(JSON.stringify(value))).toEqual(documentedBody(value));
        },
      ),
      runs,
    );
    fc.assert(
      fc.property(anyString(60), (text) => {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          expect(parseBody(text)).toBeNull();
          return;
        }
        expect(parseBody(text)).toEqual(documentedBody(value));
      }),
      runs,
    );
  });

  it('gives back the frames a client batched, in order, bytes intact', () => {
    const frame: fc.Arbitrary<Exclude<PostedFrame, { kind: 'close' }>> = fc.oneof(
      anyString(40).map((text) => ({ kind: 'text' as const, text })),
      fc
        .uint8Array({ maxLength: 64 })
        .map((bytes) => ({ kind: 'binary' as const, bytes: Buffer.from(bytes) })),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 8 }),
        fc.option(fc.integer({ min: 1000, max: 4999 })),
        (frames, code) => {
          // As the client's HttpSocket writes a batch (PROTOCOL.md §13.3).
          const items = frames.map((f) =>
            f.kind === 'text' ? JSON.stringify(f.text) : `{"b":"${f.bytes.toString('base64')}"}`,
          );
          if (code !== null) items.push(JSON.stringify({ close: { code, reason: 'bye' } }));
          const parsed = parseBody(`[${items.join(',')}]`);
          expect(parsed).toEqual([
            ...frames,
            ...(code !== null ? [{ kind: 'close', code, reason: 'bye' }] : []),
          ]);
        },
      ),
      runs,
    );
  });
});
