// `new Date().toISOString()` formatted once per millisecond: the raw-envelope
// stacks use it so they pay for an ISO timestamp what rxwire pays (its IsoClock
// also formats once per ms), not the 2 µs of a fresh toISOString per message.
let lastMs = NaN;
let last = '';

export function isoNow() {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    last = new Date(ms).toISOString();
  }
  return last;
}
