// The oracle of the live fuzz run: for each frame a connection sends, what
// docs/PROTOCOL.md says the server answers, given what the connection has
// sent and been sent so far. It is built from the document (§2, §3, §4, §5,
// §6, §11, §12) and the fuzz server's configuration (spec/helpers/fuzz.ts),
// not from server/: a disagreement is a bug in one or the other.
import {
  documentedAudioFrame,
  documentedEnvelopeVerdict,
  documentedHelloOk,
  type Verdict,
} from './protocol-model.js';

/** One frame the server is expected to send back. */
export interface ExpectedAnswer {
  type: '$welcome' | '$error' | '$pong' | '$next' | '$complete';
  /** `$error` only. */
  code?: string;
  replyTo?: string;
  /** `$next` only: the payload, as JSON. */
  payload?: string;
}

/** What one frame should cause: answers in order, maybe a close; `outcome` names it for the report. */
export interface Expectation {
  answers: ExpectedAnswer[];
  close?: number;
  outcome: string;
}

/** The fuzz server's configuration the oracle must know. */
export interface FuzzServerShape {
  maxPayload: number;
  maxDepth: number;
  maxAudioStreams: number;
  /** The server's `validate` option: by type, for plain messages and requests alike. */
  validate: Record<string, (payload: unknown) => boolean | string>;
  /** Request types with a handler that answers with its payload, once. */
  echoes: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const UNSEQUENCED = new Set(['$hello', '$welcome', '$ping', '$pong', '$ack']);

/** JSON nesting depth of a parsed value (iterative: fuzz frames nest hundreds deep). */
function depthOf(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    max = Math.max(max, depth + 1);
    for (const child of Object.values(value as object)) stack.push([child, depth + 1]);
  }
  return max;
}

/** The documented answers to the frames of one connection, in order. */
export class ConnectionOracle {
  /** Until a valid `$hello`, every first frame decides the connection (§3). */
  open = false;
  /** The connection closed (or will, on the frame just predicted): send nothing more. */
  closed = false;
  /** Highest client `seq` delivered in order (§12). */
  received = 0;
  /** Sequenced frames the server sent: `$error`, `$next`, `$complete` (§12). */
  serverSent = 0;
  private readonly streams = new Set<number>();

  constructor(private readonly server: FuzzServerShape) {}

  /** `text` marks bytes sent as a text frame. */
  expect(data: string | Uint8Array, text = false): Expectation {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size > this.server.maxPayload) return this.close(1009, 'close 1009');
    if (text && typeof data !== 'string') {
      // §1: a text frame that is not UTF-8 closes with 1007.
      try {
        data = utf8.decode(data);
      } catch {
        return this.close(1007, 'close 1007');
      }
    } else if (typeof data === 'string') {
      // What arrives: the string as UTF-8, where a lone surrogate becomes U+FFFD.
      data = Buffer.from(data).toString();
    }
    if (!this.open) return this.first(data);
    return typeof data === 'string' ? this.text(data) : this.binary(data);
  }

  /** §3 step 2: the first frame is a valid `$hello`, or the connection closes 4400. */
  private first(data: string | Uint8Array): Expectation {
    const verdict = typeof data === 'string' ? this.verdict(data) : null;
    if (
      verdict === null ||
      !verdict.ok ||
      verdict.envelope.type !== '$hello' ||
      !documentedHelloOk(verdict.envelope.payload)
    ) {
      return this.close(4400, 'close 4400');
    }
    this.open = true;
    return {
      answers: [{ type: '$welcome', replyTo: verdict.envelope.id as string }],
      outcome: '$welcome',
    };
  }

  private text(text: string): Expectation {
    const verdict = this.verdict(text);
    if (verdict === null) return this.error('RXWIRE_BAD_JSON');
    if (!verdict.ok) return this.error(verdict.code, verdict.id);
    const { envelope } = verdict;
    const { type, id } = envelope as { type: string; id: string };
    // §12: an ack for a seq never sent is a protocol error.
    if ('ack' in envelope && (envelope.ack as number) > this.serverSent) {
      return this.close(4400, 'close 4400');
    }
    if ('seq' in envelope && !UNSEQUENCED.has(type)) {
      const seq = envelope.seq as number;
      if (seq <= this.received) return { answers: [], outcome: 'repeat dropped' };
      if (seq > this.received + 1) return this.close(4400, 'close 4400');
      this.received = seq;
    }
    if (type.startsWith('$')) return this.control(type, id, envelope);
    // §5: a request needs a handler first; then (requests and messages alike) the type's validator.
    const request = envelope.request === true;
    if (request && !this.server.echoes.includes(type)) return this.error('RXWIRE_NO_HANDLER', id);
    const validator = this.server.validate[type];
    if (validator !== undefined && validator(envelope.payload) !== true) {
      return this.error('RXWIRE_INVALID_PAYLOAD', id);
    }
    if (!request) return { answers: [], outcome: 'delivered' };
    this.serverSent += 2;
    return {
      answers: [
        { type: '$next', replyTo: id, payload: JSON.stringify(envelope.payload ?? null) },
        { type: '$complete', replyTo: id },
      ],
      outcome: '$next, $complete',
    };
  }

  /** §4: what the server does with each control type from a client. */
  private control(type: string, id: string, envelope: Record<string, unknown>): Expectation {
    switch (type) {
      case '$ping':
        return { answers: [{ type: '$pong', replyTo: id }], outcome: '$pong' };
      case '$pong':
      case '$ack':
      case '$error':
        return { answers: [], outcome: 'ignored' };
      case '$cancel':
        return 'replyTo' in envelope
          ? { answers: [], outcome: 'ignored' }
          : this.error('RXWIRE_BAD_ENVELOPE', id);
      default: // $hello again, $welcome, $next, $complete
        return this.error('RXWIRE_UNKNOWN_CONTROL', id);
    }
  }

  /** §11: a valid audio frame is delivered, unless it opens one stream too many. */
  private binary(bytes: Uint8Array): Expectation {
    const frame = documentedAudioFrame(bytes);
    if (frame === null) return this.error('RXWIRE_BAD_BINARY_FRAME');
    if (!this.streams.has(frame.streamId)) {
      if (this.streams.size >= this.server.maxAudioStreams) {
        return this.error(
          'RXWIRE_BAD_BINARY_FRAME',
          undefined,
          'RXWIRE_BAD_BINARY_FRAME (streams)',
        );
      }
      this.streams.add(frame.streamId);
    }
    return { answers: [], outcome: 'audio delivered' };
  }

  /** §2 on a text frame; null when it is not JSON or nests deeper than maxDepth (RXWIRE_BAD_JSON). */
  private verdict(text: string): Verdict | null {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return null;
    }
    if (depthOf(value) > this.server.maxDepth) return null;
    return documentedEnvelopeVerdict(value);
  }

  private error(code: string, replyTo?: string, outcome: string = code): Expectation {
    this.serverSent++;
    const answer: ExpectedAnswer =
      replyTo === undefined ? { type: '$error', code } : { type: '$error', code, replyTo };
    return { answers: [answer], outcome };
  }

  private close(code: number, outcome: string): Expectation {
    this.closed = true;
    return { answers: [], close: code, outcome };
  }
}
