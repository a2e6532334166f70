// The line `rxwire stream` prints when the client ended in `error` before
// connecting, for each kind of failure; spec/e2e/cli.spec.ts runs the real
// cases through the binary.
import { ErrorCode, RxwireError, type CloseInfo, type ConnectionState } from '../../src/index';
import { connectProblem } from '../../cli/stream';

// Only formatted here, never connected to.
const url = 'ws://chat.example/ws';

function failed(
  lastClose: CloseInfo & { cause?: string; httpStatus?: number },
  code: string = ErrorCode.ReconnectFailed,
): ConnectionState {
  return {
    status: 'error',
    attempt: 0,
    maxAttempts: 3,
    transport: 'websocket',
    queued: 0,
    dropped: 0,
    unacked: 0,
    resent: 0,
    duplicates: 0,
    lastClose,
    error: new RxwireError(code, 'gave up after 3 attempts'),
  } as ConnectionState;
}

const abnormal = { code: 1006, reason: '', wasClean: false };

it('names the network error from lastClose.cause', () => {
  expect(connectProblem(url, failed({ ...abnormal, cause: 'ECONNREFUSED' }))).toBe(
    'cannot connect to ws://chat.example/ws: ECONNREFUSED',
  );
});

it('names the HTTP status of a refused upgrade from lastClose.httpStatus', () => {
  expect(connectProblem(url, failed({ ...abnormal, httpStatus: 503 }))).toBe(
    'cannot connect to ws://chat.example/ws: the server answered HTTP 503 instead of a WebSocket upgrade',
  );
});

it('says how to get a token for 4401, with the login route on the same host', () => {
  const state = failed(
    { code: 4401, reason: 'token missing', wasClean: true },
    ErrorCode.Unauthorized,
  );
  expect(connectProblem('wss://chat.example:8443/ws', state)).toBe(
    'cannot connect to wss://chat.example:8443/ws: the server wants a valid token (4401 “token missing”); ' +
      'pass one with --token T (the rxwire demo issues them: POST https://chat.example:8443/demo/login)',
  );
});

it('says 4403 is a refusal of this client', () => {
  const state = failed(
    { code: 4403, reason: 'banned', wasClean: true },
    ErrorCode.ConnectionClosed,
  );
  expect(connectProblem(url, state)).toBe(
    'cannot connect to ws://chat.example/ws: the server does not let this client in (4403 “banned”)',
  );
});

it("falls back on the client's error message", () => {
  expect(connectProblem(url, failed(abnormal))).toBe(
    'cannot connect to ws://chat.example/ws: gave up after 3 attempts',
  );
});
