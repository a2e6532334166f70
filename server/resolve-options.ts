// The server's options resolved: every default applied, every value checked
// (unknown names and wrong types throw RxwireTypeError naming the option), in
// the shape the core runs on. The options themselves, with their TSDoc and
// defaults, are in options.ts.
import {
  ErrorCode,
  RxwireTypeError,
  type Protocol,
  type Validator,
} from '../src/protocol/index.js';
import {
  anyObject,
  arrayOf,
  boolean,
  checkOptions,
  fn,
  isFalse,
  like,
  number,
  object,
  or,
  port,
  string,
  type OptionRule,
} from '../src/protocol/option-check.js';
import type { TrustProxy } from './client-address.js';
import type { Cluster } from './cluster.js';
import { toLogger, type Logger } from './logger.js';
import type { OriginCheck, ServerOptions } from './options.js';

/** The connection limits, resolved (see `maxConnections` and the options after it). */
export interface ConnectionLimitOptions {
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxHandshakes: number;
  trustProxy: TrustProxy;
}

/** The options the connection core runs on, with every default applied. */
export interface ResolvedOptions {
  path: string;
  fallback: boolean;
  maxPayload: number;
  maxDepth: number;
  heartbeat: { interval: number; timeout: number } | null;
  helloTimeout: number;
  limits: ConnectionLimitOptions;
  rateLimit: { messages: number; perMs: number; audioFrames: number } | null;
  maxAudioStreams: number;
  validators: ReadonlyMap<string, Validator>;
  knownTypes: ReadonlySet<string> | null;
  shutdownTimeout: number;
  recoveryWindow: number;
  maxUnacked: { messages: number; bytes: number };
  userKey: (user: unknown) => string;
  /** Token lifetime (see `tokenExpiry`); null when sessions outlive their tokens. */
  tokenExpiry: { refreshBefore: number; leeway: number } | null;
  allowedOrigins: OriginCheck | null;
  logger: Logger;
  cluster: Cluster | null;
}

const bytes: OptionRule = (v, name) => {
  if (!(v instanceof Uint8Array)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `'${name}' must be a string or a Uint8Array`,
    );
  }
};

const strings = or(string, arrayOf(string, 'strings'));

/** What each server option may be: unknown names and wrong types throw, naming the option. */
const shape = {
  server: like({ on: fn, listen: fn }, 'an http or https server'),
  port,
  host: string,
  path: string,
  fallback: boolean,
  authenticate: fn,
  jwt: object({
    secret: or(string, bytes),
    publicKey: or(string, anyObject, fn),
    issuer: strings,
    audience: strings,
    algorithms: arrayOf(string, 'strings'),
    clockTolerance: or(number, string),
  }),
  allowedOrigins: or(arrayOf(string, 'origins'), fn),
  maxPayload: number,
  maxDepth: number,
  heartbeat: or(isFalse, object({ interval: number, timeout: number })),
  helloTimeout: number,
  maxConnections: number,
  maxConnectionsPerIp: number,
  maxHandshakes: number,
  trustProxy: or(boolean, number),
  rateLimit: or(isFalse, object({ messages: number, perMs: number, audioFrames: number })),
  validate: anyObject,
  strictTypes: or(boolean, arrayOf(string, 'type names')),
  maxAudioStreams: number,
  shutdownTimeout: number,
  recoveryWindow: number,
  maxUnacked: object({ messages: number, bytes: number }),
  userKey: fn,
  tokenExpiry: or(isFalse, object({ refreshBefore: number, leeway: number })),
  logger: anyObject,
  cluster: like({}, 'a cluster from rxwire/cluster (redisCluster or memoryCluster)'),
} satisfies Record<keyof ServerOptions, OptionRule>;

/** Applies every default once and fails fast, naming the option, on invalid values. */
export function resolveOptions(options: ServerOptions<Protocol, unknown>): ResolvedOptions {
  checkOptions(options, shape, 'createServer');
  const path = options.path ?? '/ws';
  if (!path.startsWith('/')) fail(`\`path\` must start with '/' (got '${path}')`);
  const heartbeat =
    options.heartbeat === false
      ? null
      : {
          interval: positive('heartbeat.interval', options.heartbeat?.interval ?? 25_000),
          timeout: positive('heartbeat.timeout', options.heartbeat?.timeout ?? 10_000),
        };
  const rateLimit =
    options.rateLimit === false
      ? null
      : {
          messages: positive('rateLimit.messages', options.rateLimit?.messages ?? 200),
          perMs: positive('rateLimit.perMs', options.rateLimit?.perMs ?? 1_000),
          audioFrames: positive('rateLimit.audioFrames', options.rateLimit?.audioFrames ?? 1_000),
        };
  const validators = new Map<string, Validator>();
  for (const [type, validator] of Object.entries(options.validate ?? {})) {
    if (validator === undefined) continue;
    const schema = validator as { '~standard'?: { validate?: unknown } } | null;
    if (typeof validator !== 'function' && typeof schema?.['~standard']?.validate !== 'function') {
      fail(`\`validate.${type}\` must be a Standard Schema or a function`);
    }
    validators.set(type, validator as Validator);
  }
  const strict = options.strictTypes ?? false;
  const knownTypes =
    strict === false ? null : new Set(strict === true ? validators.keys() : strict);
  if (options.fallback !== undefined && typeof options.fallback !== 'boolean') {
    fail('`fallback` must be a boolean');
  }
  return {
    path,
    fallback: options.fallback ?? false,
    maxPayload: positive('maxPayload', options.maxPayload ?? 1_048_576),
    maxDepth: positive('maxDepth', options.maxDepth ?? 64),
    heartbeat,
    helloTimeout: positive('helloTimeout', options.helloTimeout ?? 10_000),
    limits: {
      maxConnections: limit('maxConnections', options.maxConnections ?? Infinity),
      maxConnectionsPerIp: limit('maxConnectionsPerIp', options.maxConnectionsPerIp ?? Infinity),
      maxHandshakes: limit('maxHandshakes', options.maxHandshakes ?? 1_000),
      trustProxy: trustProxyOf(options.trustProxy ?? false),
    },
    rateLimit,
    maxAudioStreams: positiveInteger('maxAudioStreams', options.maxAudioStreams ?? 16),
    validators,
    knownTypes,
    shutdownTimeout: nonNegative('shutdownTimeout', options.shutdownTimeout ?? 5_000),
    recoveryWindow: nonNegative('recoveryWindow', options.recoveryWindow ?? 120_000),
    maxUnacked: {
      messages: positiveInteger('maxUnacked.messages', options.maxUnacked?.messages ?? 10_000),
      bytes: positive('maxUnacked.bytes', options.maxUnacked?.bytes ?? 16_777_216),
    },
    userKey: userKeyFunction(options.userKey),
    tokenExpiry:
      options.tokenExpiry === false
        ? null
        : {
            refreshBefore: nonNegative(
              'tokenExpiry.refreshBefore',
              options.tokenExpiry?.refreshBefore ?? 60_000,
            ),
            leeway: nonNegative(
              'tokenExpiry.leeway',
              options.tokenExpiry?.leeway ?? spanMs(options.jwt?.clockTolerance ?? 0),
            ),
          },
    allowedOrigins: originCheck(options.allowedOrigins),
    logger: toLogger(options.logger),
    cluster: clusterOf(options.cluster),
  };
}

function clusterOf(cluster: ServerOptions['cluster']): Cluster | null {
  if (cluster === undefined) return null;
  if (typeof cluster !== 'object' || cluster === null || typeof cluster.bind !== 'function') {
    fail('`cluster` must be made by redisCluster() or memoryCluster() from rxwire/cluster');
  }
  return cluster;
}

function userKeyFunction(custom: ServerOptions['userKey']): (user: unknown) => string {
  if (custom !== undefined && typeof custom !== 'function') fail('`userKey` must be a function');
  return (user) => {
    const key = custom ? custom(user) : defaultUserKey(user);
    return key !== undefined ? keyed(key) : `j:${JSON.stringify(user) ?? ''}`;
  };
}

/**
 * The server's form of a key the `userKey` option returned (a user without
 * one is compared by JSON under another prefix, so no key can match it).
 */
export function keyed(userKey: string): string {
  return `k:${userKey}`;
}

/** The key as the app gave it: {@link keyed} undone. */
export function unkeyed(key: string): string {
  return key.slice(2);
}

function defaultUserKey(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null) return undefined;
  const { sub, id } = user as { sub?: unknown; id?: unknown };
  if (typeof sub === 'string' || typeof sub === 'number') return String(sub);
  if (typeof id === 'string' || typeof id === 'number') return String(id);
  return undefined;
}

function originCheck(allowed: ServerOptions['allowedOrigins']): OriginCheck | null {
  if (allowed === undefined) return null;
  if (typeof allowed === 'function') return allowed;
  if (!Array.isArray(allowed)) fail('`allowedOrigins` must be an array of origins or a function');
  const set = new Set(allowed.map((o) => o.toLowerCase()));
  return (origin) => origin === undefined || set.has(origin.toLowerCase());
}

/**
 * A JWT `clockTolerance` in ms: a number of seconds, or a span like `'30s'`,
 * `'2 min'`, `'1h'` (the forms jose accepts that matter for a tolerance).
 */
function spanMs(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match =
    /^\s*(\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)?\s*$/i.exec(
      value,
    );
  if (match === null)
    fail(`\`jwt.clockTolerance\` must be seconds or a span like '30s' (got '${value}')`);
  const unit = (match[2] ?? 's').toLowerCase();
  const scale =
    unit === 'ms'
      ? 1
      : unit.startsWith('s')
        ? 1000
        : unit.startsWith('m')
          ? 60_000
          : unit.startsWith('h')
            ? 3_600_000
            : 86_400_000;
  return Number(match[1]) * scale;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    fail(`\`${name}\` must be a positive number (got ${String(value)})`);
  }
  return value;
}

/** A count limit: a positive integer, or `Infinity` for none. */
function limit(name: string, value: number): number {
  if (value !== Infinity && (!Number.isInteger(value) || value < 1)) {
    fail(`\`${name}\` must be a positive integer or Infinity (got ${String(value)})`);
  }
  return value;
}

function trustProxyOf(value: TrustProxy): TrustProxy {
  if (typeof value === 'number' && (!Number.isInteger(value) || value < 0)) {
    fail(
      `\`trustProxy\` must be true, false or the number of proxies in front of the server (got ${value})`,
    );
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    fail(`\`${name}\` must be a positive integer (got ${String(value)})`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    fail(`\`${name}\` must be a non-negative number (got ${String(value)})`);
  }
  return value;
}

function fail(message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, message);
}

/**
 * The `userKey` option applied to `user`, never throwing: a user without a
 * key whose JSON cannot be encoded (a cycle, a BigInt) gets the key of no one.
 */
export function userKeyOf(options: ResolvedOptions, user: unknown): string {
  try {
    return options.userKey(user);
  } catch {
    return 'j:';
  }
}
