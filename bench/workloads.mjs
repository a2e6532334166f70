// The application side of the fanout and token-stream scenarios, the same for
// every stack: what is broadcast, and how tokens are produced. The server and
// the load generator share these helpers.

/** Characters to pad a tick's payload with. */
const FILL = 'abcdefghijklmnopqrstuvwxyz'.repeat(40);

/**
 * The payload of broadcast number `n`: `{n, text}`, its JSON exactly `size`
 * bytes long (the load generator checks `n` arrives 1, 2, 3 ... on every connection).
 */
export function tickPayload(n, size) {
  const bare = 16 + String(n).length; // {"n":<n>,"text":""}
  return { n, text: FILL.slice(0, Math.max(0, size - bare)) };
}

/** Token `i` of a stream: 8 bytes of text, as a model's tokens are a few characters each. */
export function token(i) {
  return ` token${String(i % 100).padStart(2, '0')}`;
}

/**
 * Produces `n` tokens, one per turn of the event loop (`setImmediate`), as they
 * would arrive from an upstream model's socket, then calls `done`. Returns a
 * function that stops it early (the request was cancelled or its socket closed).
 */
export function streamTokens(n, emit, done) {
  let i = 0;
  let handle = null;
  const step = () => {
    emit(token(i));
    i += 1;
    if (i < n) handle = setImmediate(step);
    else {
      handle = null;
      done();
    }
  };
  handle = setImmediate(step);
  return () => {
    if (handle !== null) clearImmediate(handle);
    handle = null;
  };
}
