import { PROTOCOL_VERSION, type ResumeRequest } from '../src/protocol/index.js';

/**
 * Why a `$hello` payload is unacceptable (the close reason, before clamping),
 * or null when it is fine: docs/PROTOCOL.md §3, step 2. The payload is
 * whatever a client sent; this never throws.
 */
export function helloProblem(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return '$hello payload must be an object';
  }
  const p = payload as Record<string, unknown>;
  if (p.v !== PROTOCOL_VERSION) {
    return `unsupported protocol version ${JSON.stringify(p.v) ?? 'undefined'} (server speaks ${PROTOCOL_VERSION})`;
  }
  if (p.token !== undefined && p.token !== null && typeof p.token !== 'string') {
    return '$hello token must be a string';
  }
  if (p.client !== undefined && typeof p.client !== 'string')
    return '$hello client must be a string';
  if (p.resume !== undefined) {
    const r = p.resume as Partial<ResumeRequest> | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.sessionId !== 'string' ||
      typeof r.token !== 'string' ||
      typeof r.ack !== 'number' ||
      !Number.isSafeInteger(r.ack) ||
      r.ack < 0
    ) {
      return '$hello resume must be {sessionId: string, token: string, ack: integer ≥ 0}';
    }
  }
  return null;
}
