/**
 * True when a JSON text nests arrays/objects deeper than `max`. V8 parses deep
 * nesting an order of magnitude slower per byte than flat JSON, so a frame of
 * `[[[[...` is a cheap way to stall the event loop; this linear scan is far
 * cheaper than the parse it prevents. Brackets inside strings are skipped.
 */
export function exceedsDepth(text: string, max: number): boolean {
  // Nesting deeper than `max` needs more than `max` opening brackets. Counting
  // them with indexOf is native and fast; most frames stop here (a 3 KB chat
  // message has a handful), and only bracket-heavy ones get the full scan.
  if (!moreOpeningBracketsThan(text, max)) return false;
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

function moreOpeningBracketsThan(text: string, max: number): boolean {
  let count = 0;
  for (const bracket of ['[', '{']) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) {
      if (++count > max) return true;
    }
  }
  return false;
}
