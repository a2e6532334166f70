// The command line, read and checked before anything connects or listens:
// every problem is one line of text, and the caller exits 2 with them.
import { parseArgs } from 'node:util';

export const usage = `Usage:
  rxwire stream <file.wav> [--url ws://localhost:3001/ws] [--realtime] [--token T] [--stream-id N] [--frame-ms 20]
      Streams a WAV file (PCM16 or float32) as binary audio frames, with a progress bar,
      then prints what was sent and dropped. Without --realtime it sends as fast as the
      connection takes it (nothing is dropped); with --realtime it paces frames at their
      duration and, like a microphone, drops frames when the connection falls behind.
      The demo (rxwire serve) lets a client without a token in as a guest; for a server
      that wants one, pass --token (the demo issues them at POST /demo/login).
  rxwire serve [--port 3001] [--cluster redis://host:6379]
      Runs the demo server (Express + rxwire; needs express installed). --port 0 picks
      a free port; the URL it prints says which. With --cluster it runs as one node of a
      cluster on that Redis (needs redis installed); every node needs the same
      RXWIRE_CLUSTER_SECRET (32+ bytes) and RXWIRE_DEMO_SECRET.
  rxwire --help

Exit codes: 0 done, 1 could not connect or listen, 2 bad arguments or input file,
3 frames were dropped.`;

/** What to do, with every value checked. */
export type Command =
  | { kind: 'help' }
  | { kind: 'usage' }
  | { kind: 'serve'; port: number; cluster: string | undefined }
  | {
      kind: 'stream';
      file: string;
      url: string;
      realtime: boolean;
      token: string | undefined;
      streamId: number;
      frameMs: number;
    };

/** The command, or the problems with the command line (one line each). */
export type Parsed = { ok: true; command: Command } | { ok: false; errors: string[] };

const streamOptions = ['url', 'realtime', 'token', 'stream-id', 'frame-ms'] as const;
const options = {
  url: { type: 'string' },
  realtime: { type: 'boolean' },
  token: { type: 'string' },
  'stream-id': { type: 'string' },
  'frame-ms': { type: 'string' },
  port: { type: 'string' },
  cluster: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The largest frame the CLI cuts, in ms: a second of audio is already a large message. */
const MAX_FRAME_MS = 1000;

/**
 * Reads `argv` (without node and the script). `env.PORT` is the default of
 * `serve --port`, as for `npm start`.
 */
export function parseCommandLine(
  argv: string[],
  env: { PORT?: string | undefined; RXWIRE_CLUSTER_SECRET?: string | undefined },
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinOptionValues(argv),
      allowPositionals: true,
      strict: true,
      options,
    });
  } catch (error) {
    return { ok: false, errors: [argumentError(error)] };
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) return { ok: true, command: { kind: 'help' } };
  if (command === undefined) return { ok: true, command: { kind: 'usage' } };

  const errors: string[] = [];
  if (command === 'serve') {
    for (const name of streamOptions) {
      if (values[name] !== undefined) errors.push(`--${name} is an option of rxwire stream`);
    }
    if (rest.length > 0) errors.push(`rxwire serve takes no arguments, got '${rest.join(' ')}'`);
    const port =
      values.port !== undefined
        ? portNumber(values.port, '--port', errors)
        : portNumber(env.PORT ?? '3001', 'PORT', errors);
    const cluster = values.cluster;
    if (cluster !== undefined) {
      if (!/^rediss?:\/\/./i.test(cluster)) {
        errors.push(
          `--cluster must be a Redis URL such as redis://localhost:6379 (got '${cluster}')`,
        );
      }
      if (Buffer.byteLength(env.RXWIRE_CLUSTER_SECRET ?? '') < 32) {
        errors.push(
          '--cluster needs RXWIRE_CLUSTER_SECRET: the same secret of 32+ bytes on every node',
        );
      }
    }
    return errors.length > 0
      ? { ok: false, errors }
      : { ok: true, command: { kind: 'serve', port, cluster } };
  }
  if (command !== 'stream') {
    return { ok: false, errors: [`unknown command '${command}' (rxwire --help lists them)`] };
  }

  const [file, ...extra] = rest;
  if (file === undefined) errors.push('rxwire stream needs a WAV file: rxwire stream <file.wav>');
  if (extra.length > 0) errors.push(`rxwire stream takes one file, got also '${extra.join(' ')}'`);
  if (values.port !== undefined) errors.push('--port is an option of rxwire serve');
  if (values.cluster !== undefined) errors.push('--cluster is an option of rxwire serve');
  const url = webSocketUrl(values.url ?? 'ws://localhost:3001/ws', errors);
  const streamId = integer(values['stream-id'] ?? '0', '--stream-id', 0xffffffff, errors);
  const frameMs = frameDuration(values['frame-ms'] ?? '20', errors);
  if (values.token !== undefined && values.token.trim() === '') errors.push('--token is empty');
  if (errors.length > 0 || file === undefined) return { ok: false, errors };
  return {
    ok: true,
    command: {
      kind: 'stream',
      file,
      url,
      realtime: values.realtime ?? false,
      token: values.token,
      streamId,
      frameMs,
    },
  };
}

/**
 * `--stream-id -1` as `--stream-id=-1`: parseArgs refuses a value that starts
 * with a dash as ambiguous, and the user then hears about dashes instead of
 * about the value.
 */
function joinOptionValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const takesValue =
      name !== undefined &&
      name in options &&
      options[name as keyof typeof options].type === 'string';
    if (takesValue && i + 1 < argv.length) {
      joined.push(`${arg}=${argv[++i]!}`);
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** parseArgs' error in one line, without its advice about dashes. */
function argumentError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(message ?? '')?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    return `unknown option '${quoted}' (rxwire --help lists them)`;
  }
  return (message ?? String(error)).split('\n')[0]!;
}

function portNumber(text: string, name: string, errors: string[]): number {
  return integer(text, name, 65535, errors, 'a port number from 0 to 65535');
}

function integer(
  text: string,
  name: string,
  max: number,
  errors: string[],
  what = `an integer from 0 to ${max}`,
): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > max) {
    errors.push(`${name} must be ${what}, got '${text}'`);
    return 0;
  }
  return n;
}

function frameDuration(text: string, errors: string[]): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0 && n <= MAX_FRAME_MS)) {
    errors.push(
      `--frame-ms must be a duration in ms, above 0 and at most ${MAX_FRAME_MS}, got '${text}'`,
    );
    return 0;
  }
  return n;
}

function webSocketUrl(text: string, errors: string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    errors.push(`--url must be a ws:// or wss:// URL, got '${text}'`);
    return text;
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return text;
  const suggestion =
    url.protocol === 'http:' || url.protocol === 'https:'
      ? ` (did you mean ${text.replace(/^http/, 'ws')}?)`
      : '';
  errors.push(`--url must be a ws:// or wss:// URL, got '${text}'${suggestion}`);
  return text;
}
