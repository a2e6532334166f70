/**
 * The subset of the Standard Schema v1 interface (https://standardschema.dev)
 * rxwire uses, so zod, valibot and arktype schemas work as validators without
 * a dependency.
 */
export interface StandardSchemaV1<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        // `| undefined` as in the spec: zod and valibot declare it so, and
        // projects with exactOptionalPropertyTypes must be able to pass them.
        readonly path?: ReadonlyArray<unknown> | undefined;
      }>;
    };

/**
 * A payload validator: a Standard Schema, or a function that returns `true`
 * (valid), `false`, or a string explaining what is wrong.
 */
export type Validator<T = unknown> = StandardSchemaV1<T> | ((payload: unknown) => boolean | string);

/** Validators per message type; types without one are not checked. */
export type Validators<M> = { [K in keyof M]?: Validator<M[K]> };

/** Outcome of {@link validatePayload}. */
export type ValidationResult = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Runs a validator synchronously. Async Standard Schema results are refused
 * (message order would no longer hold) with a message that says so.
 */
export function validatePayload(validator: Validator, payload: unknown): ValidationResult {
  if (typeof validator === 'function') {
    let verdict: boolean | string;
    try {
      verdict = validator(payload);
    } catch (e) {
      return { ok: false, message: `validator threw: ${(e as Error)?.message ?? String(e)}` };
    }
    if (verdict === true) return { ok: true, value: payload };
    return { ok: false, message: typeof verdict === 'string' ? verdict : 'payload is invalid' };
  }
  const result = validator['~standard'].validate(payload);
  if (result instanceof Promise) {
    result.catch(() => undefined);
    return {
      ok: false,
      message: 'async validators are not supported (validation must be synchronous)',
    };
  }
  if (result.issues) {
    const message = result.issues
      .slice(0, 5)
      .map((i) => (i.path?.length ? `${i.path.map(pathKey).join('.')}: ${i.message}` : i.message))
      .join('; ');
    return { ok: false, message: message || 'payload is invalid' };
  }
  return { ok: true, value: result.value };
}

function pathKey(p: unknown): string {
  return typeof p === 'object' && p !== null && 'key' in p ? String(p.key) : String(p);
}
