// jsdom leaves out Node globals that the server, `ws` and the protocol codec
// use (TextEncoder, TextDecoder, setImmediate), and its timers return numbers
// where the server refreshes Node's Timeout objects. Imported first by the
// React specs that run a real server beside React in jsdom; React, jsdom and
// Testing Library work on Node's timers as well.
import { TextDecoder, TextEncoder } from 'node:util';
import * as timers from 'node:timers';

const globals = globalThis as Record<string, unknown>;
for (const [name, value] of Object.entries({ TextEncoder, TextDecoder })) {
  if (globals[name] === undefined) globals[name] = value;
}
globals.setTimeout = timers.setTimeout;
globals.clearTimeout = timers.clearTimeout;
globals.setInterval = timers.setInterval;
globals.clearInterval = timers.clearInterval;
globals.setImmediate = timers.setImmediate;
globals.clearImmediate = timers.clearImmediate;
