/**
 * True when a JSON text nests arrays/objects deeper than `max`. V8 parses deep
 * nesting an order of magnitude slower per byte than flat JSON, so a frame of
 * `[[[[...` is a cheap way to stall the event loop; this linear scan is far
 * cheaper than the parse it prevents. Brackets inside strings are skipped.
 */
export function exceedsDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth--;
    }
  }
  return false;
}
