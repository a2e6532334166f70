// The raw-envelope stack (envelope-cost.mjs): raw ws speaking rxwire's envelope
// with no library. The load generator and the server share these helpers.

let lastMs = NaN;
let last = '';

/**
 * `new Date().toISOString()` formatted once per millisecond: rxwire's IsoClock
 * also formats once per ms, so the stack pays for the timestamp what rxwire
 * pays, not the 2 µs of a fresh toISOString per message.
 */
function isoNow() {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    last = new Date(ms).toISOString();
  }
  return last;
}

/** One envelope as text: the fields rxwire sends for a sequenced message. */
export function encodeRawEnvelope(type, id, seq, ack, payload) {
  return JSON.stringify({ type, id, seq, ack, payload, timestamp: isoNow() });
}

/**
 * Parses a text frame and checks what rxwire checks on every envelope: field
 * types and the next sequence number after `received`. Throws on anything else.
 */
export function decodeRawEnvelope(data, received) {
  const msg = JSON.parse(data.toString());
  if (
    typeof msg !== 'object' ||
    msg === null ||
    typeof msg.type !== 'string' ||
    typeof msg.id !== 'string' ||
    typeof msg.timestamp !== 'string' ||
    msg.seq !== received + 1
  ) {
    throw new Error(`not an envelope in sequence: ${JSON.stringify(msg).slice(0, 200)}`);
  }
  return msg;
}
