// Frames for the live fuzz run (spec/helpers/fuzz.ts), from a seeded PRNG so
// a run can be repeated: random text, random JSON, valid frames for the
// connection's state, valid frames mutated by byte edits or in one field,
// nesting past maxDepth, random and mutated binary audio frames, oversized
// frames, and bad first frames. Nothing here knows what the server answers:
// that is the oracle's job (spec/helpers/fuzz-oracle.ts).
import { encodeAudioFrame } from '../../src/protocol/index.js';
import { mulberry32 } from './fault-proxy.js';

/** How a frame was made; the run counts frames and answers per class. */
export type FrameClass =
  | 'valid'
  | 'random-text'
  | 'random-json'
  | 'mutated-bytes'
  | 'mutated-field'
  | 'deep'
  | 'random-binary'
  | 'valid-audio'
  | 'mutated-audio'
  | 'oversized'
  | 'bad-utf8'
  | 'bad-first'
  | 'hello';

export interface FuzzFrame {
  kind: FrameClass;
  /** A text frame (string), or a binary one (bytes) unless `text` says the bytes are a text frame's. */
  data: string | Uint8Array;
  /** The bytes are sent as a text frame, as they are (they may not be UTF-8). */
  text?: true;
}

/** What the generator needs to know of a connection to make valid frames. */
export interface PeerState {
  /** The next `seq` the server expects from this connection. */
  nextSeq: number;
  /** Sequenced frames the server has sent this connection (a valid `ack` is at most this). */
  serverSent: number;
}

const TYPES = [
  'chat',
  'num',
  'echo',
  'nohandler',
  'x',
  '$ping',
  '$ack',
  '$cancel',
  '$error',
  '$pong',
];
const CONTROL_JUNK = ['$hello', '$welcome', '$next', '$complete', '$resume', '$'];
const CHARS =
  'abcdefghijklmnopqrstuvwxyz0123456789 {}[]":,\\/-+.eE$_' +
  'é€😀\u0000\u0001\u001f\n\r\t\u2028\ud800\udc00';

/** A seeded source of random frames. */
export class FrameGenerator {
  private readonly rng: () => number;
  private ids = 0;

  constructor(
    seed: number,
    private readonly maxPayload: number,
    private readonly maxDepth: number,
  ) {
    this.rng = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A fresh frame id. */
  id(): string {
    return `f${(++this.ids).toString(36)}`;
  }

  /** One frame for an open connection, of a class drawn by weight. */
  next(state: PeerState): FuzzFrame {
    const r = this.rng();
    if (r < 0.22) return { kind: 'valid', data: this.validText(state) };
    if (r < 0.32) return { kind: 'random-text', data: this.string(this.int(120)) };
    if (r < 0.42) return { kind: 'random-json', data: JSON.stringify(this.json(3)) };
    if (r < 0.6) return { kind: 'mutated-bytes', data: this.editBytes(this.validText(state)) };
    if (r < 0.76) return { kind: 'mutated-field', data: this.mutateField(state) };
    if (r < 0.79) return { kind: 'deep', data: this.deep() };
    if (r < 0.84) return { kind: 'random-binary', data: this.bytes(this.int(64)) };
    if (r < 0.9) return { kind: 'valid-audio', data: this.audio() };
    if (r < 0.985) return { kind: 'mutated-audio', data: this.mutateAudio() };
    if (r < 0.995) return { kind: 'bad-utf8', data: this.badUtf8(), text: true };
    return { kind: 'oversized', data: this.oversized() };
  }

  /** The first frame of a new connection: usually a valid `$hello`, sometimes anything else. */
  first(): FuzzFrame {
    if (this.chance(0.7)) {
      const payload: Record<string, unknown> = { v: 1, client: 'fuzz' };
      if (this.chance(0.3)) payload.token = this.string(8);
      return { kind: 'hello', data: this.envelope('$hello', payload) };
    }
    const r = this.rng();
    let data: string | Uint8Array;
    if (r < 0.2) data = this.string(this.int(60));
    else if (r < 0.35) data = JSON.stringify(this.json(2));
    else if (r < 0.75) data = this.badHello();
    else if (r < 0.85) data = this.bytes(this.int(40));
    else if (r < 0.95) data = this.validText({ nextSeq: 1, serverSent: 0 });
    else if (r < 0.97) return { kind: 'bad-first', data: this.badUtf8(), text: true };
    else data = this.oversized();
    return { kind: 'bad-first', data };
  }

  /** An envelope's JSON text. */
  envelope(type: string, payload: unknown, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      type,
      id: this.id(),
      payload,
      timestamp: new Date().toISOString(),
      ...extra,
    });
  }

  /** A frame that is valid for the connection now (it may still get a documented `$error`). */
  private validText(state: PeerState): string {
    const type = this.pick(TYPES);
    const extra: Record<string, unknown> = {};
    const sequenced = !['$ping', '$pong', '$ack'].includes(type);
    if (sequenced && this.chance(0.8)) extra.seq = state.nextSeq;
    if (this.chance(0.3)) extra.ack = this.int(state.serverSent + 1);
    switch (type) {
      case 'chat':
        return this.envelope(type, { text: this.string(this.int(40)) }, extra);
      case 'num':
        return this.envelope(type, this.chance(0.8) ? { n: this.int(1000) } : this.json(1), extra);
      case 'echo':
      case 'nohandler':
        return this.envelope(type, this.chance(0.8) ? { q: this.string(10) } : this.json(2), {
          ...extra,
          request: true,
        });
      case '$cancel':
        return this.envelope(
          type,
          null,
          this.chance(0.8) ? { ...extra, replyTo: this.id() } : extra,
        );
      case '$error':
        return this.envelope(type, { code: 'APP_X', message: this.string(10) }, extra);
      case '$ack':
        return this.envelope(type, null, { ack: this.int(state.serverSent + 1) });
      default:
        return this.envelope(type, this.chance(0.5) ? null : this.json(1), extra);
    }
  }

  /** A valid frame with one field removed or replaced by a random value. */
  private mutateField(state: PeerState): string {
    const envelope = JSON.parse(this.validText(state)) as Record<string, unknown>;
    const field = this.pick([
      'type',
      'id',
      'payload',
      'timestamp',
      'replyTo',
      'request',
      'seq',
      'ack',
    ]);
    if (this.chance(0.3)) delete envelope[field];
    else envelope[field] = this.fieldValue(state);
    return JSON.stringify(envelope);
  }

  private fieldValue(state: PeerState): unknown {
    switch (this.int(6)) {
      case 0:
        return this.json(2);
      case 1:
        return this.pick(CONTROL_JUNK);
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, null, true, false, '', '1']);
      case 3:
        return state.nextSeq + this.int(3) - 1; // a seq or ack near the right one
      case 4:
        return state.serverSent + this.int(3);
      default:
        return this.string(8);
    }
  }

  /** Byte-level edits of a frame: delete, insert, replace, truncate, duplicate. */
  private editBytes(text: string): string {
    let out = text;
    for (let k = 1 + this.int(3); k > 0; k--) {
      const i = this.int(out.length + 1);
      const n = 1 + this.int(6);
      switch (this.int(5)) {
        case 0:
          out = out.slice(0, i) + out.slice(i + n);
          break;
        case 1:
          out = out.slice(0, i) + this.string(n) + out.slice(i);
          break;
        case 2:
          out = out.slice(0, i) + this.string(1) + out.slice(i + 1);
          break;
        case 3:
          out = out.slice(0, i);
          break;
        default:
          out = out.slice(0, i) + out.slice(i, i + n) + out.slice(i);
      }
    }
    return out;
  }

  /** Nesting past maxDepth, in a short frame or a long one, in the payload or bare. */
  private deep(): string {
    const levels = this.maxDepth + 1 + this.int(this.chance(0.5) ? 5 : 300);
    const [open, close] = this.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
    const nested = `${open.repeat(levels)}1${close.repeat(levels)}`;
    if (this.chance(0.3)) return nested;
    return `{"type":"chat","id":"${this.id()}","timestamp":"t","payload":${nested}}`;
  }

  /** A valid audio frame (sometimes on a stream id past maxAudioStreams). */
  private audio(): Uint8Array {
    const float = this.chance(0.5);
    const channels = 1 + this.int(2);
    const frames = this.int(40);
    const samples = float ? new Float32Array(frames * channels) : new Int16Array(frames * channels);
    for (let i = 0; i < samples.length; i++)
      samples[i] = float ? this.rng() * 2 - 1 : this.int(65536) - 32768;
    return encodeAudioFrame({
      samples,
      channels,
      sampleRate: this.pick([8000, 16000, 48000, 1 + this.int(768_000)]),
      seq: this.int(2 ** 32),
      timestamp: Date.now(),
      streamId: this.int(24),
    });
  }

  private mutateAudio(): Uint8Array {
    const frame = Uint8Array.from(this.audio());
    for (let k = 1 + this.int(3); k > 0; k--)
      frame[this.int(Math.min(frame.length, 32))] = this.int(256);
    return this.chance(0.2) ? frame.subarray(0, this.int(frame.length + 1)) : frame;
  }

  /** Text frame bytes that are not UTF-8 (0xFF never is), in otherwise plausible JSON. */
  private badUtf8(): Uint8Array {
    const text = Buffer.from(this.envelope('chat', { text: this.string(6) }));
    const at = this.int(text.length);
    return Uint8Array.from([...text.subarray(0, at), 0xff, ...text.subarray(at)]);
  }

  /** A text or binary frame over maxPayload. */
  private oversized(): string | Uint8Array {
    const size = this.maxPayload + 1 + this.int(1024);
    if (this.chance(0.5)) return this.bytes(size);
    return `{"type":"chat","id":"big","timestamp":"t","payload":"${'x'.repeat(size)}"}`;
  }

  /** A `$hello` envelope with a payload §3 refuses. */
  private badHello(): string {
    const payload = this.pick<() => unknown>([
      () => this.json(2),
      () => ({ v: this.pick([2, 0, '1', null, 1.5]) }),
      () => ({ v: 1, token: this.pick([5, true, {}, []]) }),
      () => ({ v: 1, client: this.pick([5, null, {}]) }),
      () => ({ v: 1, resume: this.pick([null, 'x', {}, { sessionId: 's', token: 't', ack: -1 }]) }),
      () => ({ v: 1, resume: { sessionId: 's', token: 't', ack: this.pick([1.5, '1', null]) } }),
    ])();
    return this.envelope('$hello', payload);
  }

  string(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += CHARS[this.int(CHARS.length)];
    return out;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  json(depth: number): unknown {
    const r = this.int(depth > 0 ? 8 : 5);
    switch (r) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 1e300, -0, 2 ** 53 + 2, this.int(100)]);
      case 3:
      case 4:
        return this.string(this.int(12));
      case 5:
        return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
      default: {
        const out: Record<string, unknown> = {};
        for (let k = this.int(4); k > 0; k--) {
          out[this.pick(['type', 'id', 'payload', 'seq', 'ack', 'n', this.string(3)])] = this.json(
            depth - 1,
          );
        }
        return out;
      }
    }
  }
}
