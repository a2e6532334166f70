// The demo page's words for a close: what the connection events log and the
// banner say for a refused upgrade, a network failure and a plain close. The
// page itself is driven in Chromium by spec/browser/demo.spec.ts, where a
// browser's WebSocket never exposes the HTTP status; these cover the fields
// Node's ws fills in (`lastClose.httpStatus`, `lastClose.cause`).
import type { CloseInfo, ConnectionState } from '../../src/index';
import {
  closeAdvice,
  closeLine,
  describeChange,
  isBareAbnormal,
  refusedBy,
} from '../../demo/web/explain';

const close = (extra: Partial<CloseInfo> & Record<string, unknown> = {}): CloseInfo => ({
  code: 1006,
  reason: '',
  wasClean: false,
  ...extra,
});

describe('closeLine', () => {
  it('says "refused: 503" for a refused upgrade', () => {
    expect(closeLine(close({ httpStatus: 503 }))).toBe('refused: 503');
    expect(closeLine(close({ httpStatus: 403 }))).toBe('refused: 403');
  });

  it('names the network error when there is one', () => {
    expect(closeLine(close({ cause: 'ECONNREFUSED' }))).toBe('failed: ECONNREFUSED');
  });

  it('says the code and the reason otherwise', () => {
    expect(closeLine(close())).toBe('closed 1006');
    expect(closeLine(close({ code: 1013, reason: 'busy', wasClean: true }))).toBe(
      'closed 1013 “busy”',
    );
  });
});

it('isBareAbnormal: only a 1006 that says nothing more', () => {
  expect(isBareAbnormal(close())).toBe(true);
  expect(isBareAbnormal(close({ httpStatus: 503 }))).toBe(false);
  expect(isBareAbnormal(close({ cause: 'ENOTFOUND' }))).toBe(false);
  expect(isBareAbnormal(close({ reason: 'abandoned' }))).toBe(false);
  expect(isBareAbnormal(close({ code: 1001 }))).toBe(false);
});

it("refusedBy: what the demo's gate answers upgrades with right now", () => {
  const gate = (refusingUntil: number | null, blocked: boolean) => ({
    outage: { dropped: 0, refused: 0, refusingUntil },
    webSocket: { blocked, refused: 0 },
  });
  expect(refusedBy(gate(Date.now() + 1000, false), 'websocket')).toBe('refused: 503');
  expect(refusedBy(gate(Date.now() + 1000, false), 'http')).toBe('refused: 503');
  expect(refusedBy(gate(null, true), 'websocket')).toBe('refused: 403');
  // The HTTP transport passes the WebSocket block: a 1006 on it is something else.
  expect(refusedBy(gate(null, true), 'http')).toBeUndefined();
  expect(refusedBy(gate(null, false), 'websocket')).toBeUndefined();
});

it('closeAdvice says the status or the cause when the client has it', () => {
  expect(closeAdvice(close({ httpStatus: 503 }))).toBe(
    'The server refused the upgrade (HTTP 503). Reconnecting with backoff.',
  );
  expect(closeAdvice(close({ cause: 'ECONNREFUSED' }))).toMatch(
    /^The connection failed \(ECONNREFUSED\): the server is down or unreachable/,
  );
  expect(closeAdvice(close())).toMatch(/^The connection dropped without a close frame/);
});

describe('describeChange (the event log of both demo pages)', () => {
  const base = {
    status: 'connected',
    attempt: 0,
    maxAttempts: 5,
    transport: 'websocket',
    sessionId: 's1',
    latencyMs: 3.4,
    queued: 0,
    dropped: 0,
    unacked: 0,
    resent: 0,
    duplicates: 0,
  } as unknown as ConnectionState;

  it('logs the close, then the reconnection with its retry and wait', () => {
    const lastClose = close({ httpStatus: 503 });
    const lines = describeChange(base, {
      ...base,
      status: 'reconnecting',
      attempt: 2,
      retryInMs: 1500,
      lastClose,
    } as ConnectionState);
    expect(lines.map((l) => l.text)).toEqual([
      'refused: 503',
      expect.stringMatching(/ retry 2 of 5, waiting 2 s$/),
    ]);
    expect(lines[0]!.close).toBe(lastClose);
  });

  it('logs a resumed session with its transport and latency, and a transport switch', () => {
    const before = { ...base, status: 'reconnecting', transport: 'http' } as ConnectionState;
    expect(
      describeChange(before, { ...base, resumed: true } as ConnectionState).map((l) => l.text),
    ).toEqual([
      'switching transport: next attempt via WebSocket',
      'connected: resumed session s1 via WebSocket (3 ms)',
    ]);
  });
});
