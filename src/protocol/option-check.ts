import { ErrorCode, RxwireTypeError } from './errors.js';

/**
 * Checks one option's value; throws an `RxwireTypeError` naming the option
 * when it has the wrong type. `undefined` never reaches a rule: an option set
 * to `undefined` means "use the default".
 */
export type OptionRule = (value: unknown, name: string) => void;

/** The options an object may have, each with the rule its value must pass. */
export type OptionShape = Readonly<Record<string, OptionRule>>;

/**
 * Fails fast on what TypeScript would have caught, for JavaScript callers:
 * an options object that is not an object, an option name that does not
 * exist (with the closest known name as a hint: `reconect` → `reconnect`),
 * and a value of the wrong type. Ranges and combinations are checked where
 * the defaults are applied.
 *
 * @example
 * ```ts
 * checkOptions(options, { url: string, reconnect: or(isFalse, object({ maxAttempts: number })) }, 'createClient');
 * ```
 */
export function checkOptions(options: unknown, shape: OptionShape, where: string): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    fail(where, `${where} options must be an object (got ${describe(options)})`);
  }
  checkObject(options as Record<string, unknown>, shape, '');
}

function checkObject(value: Record<string, unknown>, shape: OptionShape, prefix: string): void {
  for (const key of Object.keys(value)) {
    const rule = shape[key];
    const name = prefix + key;
    if (rule === undefined) {
      const hint = closest(key, Object.keys(shape));
      fail(
        name,
        `unknown option '${name}'${hint ? ` (did you mean '${prefix}${hint}'?)` : ''}; known options: ${Object.keys(shape).join(', ')}`,
      );
    }
    const v = value[key];
    if (v !== undefined) rule(v, name);
  }
}

// ---- rules -------------------------------------------------------------------

export const string: OptionRule = (v, name) => expect(typeof v === 'string', name, 'a string', v);
export const boolean: OptionRule = (v, name) =>
  expect(typeof v === 'boolean', name, 'a boolean', v);
export const number: OptionRule = (v, name) =>
  expect(typeof v === 'number' && !Number.isNaN(v), name, 'a number', v);
export const fn: OptionRule = (v, name) => expect(typeof v === 'function', name, 'a function', v);
/** Any object (not null, not an array): a scheduler, a logger, an Observable. */
export const anyObject: OptionRule = (v, name) =>
  expect(typeof v === 'object' && v !== null && !Array.isArray(v), name, 'an object', v);
/** Exactly `false` (options that take `false` to turn a feature off). */
export const isFalse: OptionRule = (v, name) => expect(v === false, name, 'false', v);

/** A TCP port: an integer from 0 (any free port) to 65535. */
export const port: OptionRule = (v, name) =>
  expect(
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535,
    name,
    'a port number from 0 to 65535',
    v,
  );

/** An array whose items pass `item`. */
export function arrayOf(item: OptionRule, what: string): OptionRule {
  return (v, name) => {
    expect(Array.isArray(v), name, `an array of ${what}`, v);
    (v as unknown[]).forEach((element, i) => item(element, `${name}[${i}]`));
  };
}

/** One of the given literal values. */
export function oneOf(...values: readonly unknown[]): OptionRule {
  return (v, name) =>
    expect(values.includes(v), name, values.map((x) => JSON.stringify(x)).join(' or '), v);
}

/** A nested options object with its own known keys. */
export function object(shape: OptionShape): OptionRule {
  return (v, name) => {
    expect(isPlainObject(v), name, 'an object', v);
    checkObject(v as Record<string, unknown>, shape, `${name}.`);
  };
}

/** An object that has at least these members (a server, a socket): other keys are its own business. */
export function like(members: OptionShape, what: string): OptionRule {
  return (v, name) => {
    const ok =
      typeof v === 'object' &&
      v !== null &&
      Object.entries(members).every(([key, rule]) => {
        try {
          rule((v as Record<string, unknown>)[key], `${name}.${key}`);
          return true;
        } catch {
          return false;
        }
      });
    expect(ok, name, what, v);
  };
}

/** Passes when any of `rules` passes; the error names every accepted type. */
export function or(...rules: OptionRule[]): OptionRule {
  return (v, name) => {
    const reasons: string[] = [];
    for (const rule of rules) {
      try {
        rule(v, name);
        return;
      } catch (error) {
        if (!(error instanceof RxwireTypeError)) throw error;
        // An unknown key inside an object that matched by type is the real problem.
        if (isPlainObject(v) && /unknown option/.test(error.message)) throw error;
        reasons.push(/must be (.+?) \(got/.exec(error.message)?.[1] ?? error.message);
      }
    }
    fail(name, `'${name}' must be ${reasons.join(' or ')} (got ${describe(v)})`);
  };
}

// ---- helpers -----------------------------------------------------------------

function expect(ok: boolean, name: string, what: string, value: unknown): void {
  if (!ok) fail(name, `'${name}' must be ${what} (got ${describe(value)})`);
}

function fail(_name: string, message: string): never {
  throw new RxwireTypeError(ErrorCode.InvalidOption, message);
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** The known name closest to `key` by edit distance, when it is close enough to be a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
