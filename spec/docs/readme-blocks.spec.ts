// Every TypeScript block in the README is code a test compiles and runs: each
// one appears verbatim (layout aside: Prettier wraps a region nested in a
// test differently from the README) in a spec file between
// `// #region readme-<name>` and `// #endregion`, where the test around it
// defines what the snippet leaves to the reader (`render`, `llm`, ...). The
// block's `import` lines are compared apart: each must appear, as written, at
// the top of the spec file holding the region (tests import the package by
// name, as users do). So a README example that stops compiling, or stops
// doing what it says, fails `npm test`. A region that matches no README block
// fails too (a stale copy).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

interface Block {
  line: number;
  lang: string;
  /** The code without imports, canonical (see `canonical`), to compare. */
  code: string;
  imports: string[];
  /** The block as written, for messages. */
  text: string;
}

interface Region {
  file: string;
  name: string;
  code: string;
  /** The whole spec file, to look for the block's imports. */
  text: string;
}

const IMPORT = /^import\s.*\sfrom\s+'[^']+';$|^import\s+'[^']+';$/;

/** The code without layout: whitespace and the trailing commas Prettier adds when it wraps. */
function canonical(code: string): string {
  return code.replace(/\s+/g, '').replace(/,([)\]}])/g, '$1');
}

/** Splits single-line `import` statements from the code. */
function splitImports(code: string): { code: string; imports: string[] } {
  const lines = code.split('\n');
  const imports = lines.filter((l) => IMPORT.test(l.trim())).map((l) => l.trim());
  const rest = lines.filter((l) => !IMPORT.test(l.trim()));
  return { code: canonical(rest.join('\n')), imports };
}

/** Fenced code blocks of a Markdown file, with the line they start on. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const text = normalize(body.join('\n'));
    blocks.push({ line: start + 1, lang: open[1] ?? '', ...splitImports(text), text });
  }
  return blocks;
}

/** Strips the common indentation and trailing blanks, so a region inside `it(...)` compares equal. */
function normalize(code: string): string {
  const lines = code.replace(/\s+$/, '').split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut).replace(/\s+$/, '')).join('\n');
}

function specFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return specFiles(path);
    return /\.(ts|tsx|mjs)$/.test(name) ? [path] : [];
  });
}

function regions(): Region[] {
  const found: Region[] = [];
  for (const file of specFiles(join(root, 'spec'))) {
    const text = readFileSync(file, 'utf8');
    const pattern = /^[ \t]*\/\/ #region (readme-[\w-]+)[^\n]*\n([\s\S]*?)^[ \t]*\/\/ #endregion/gm;
    for (const match of text.matchAll(pattern)) {
      found.push({
        file: relative(root, file),
        name: match[1]!,
        code: splitImports(normalize(match[2]!)).code,
        text,
      });
    }
  }
  return found;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = codeBlocks(readme).filter((b) => ['ts', 'tsx', 'typescript'].includes(b.lang));
const all = regions();

it('finds the README blocks and the regions', () => {
  expect(blocks.length).toBeGreaterThan(5);
  expect(all.length).toBeGreaterThan(5);
});

it.each(blocks.map((b) => [b.line, b] as const))(
  'README block at line %i is run by a test',
  (_line, block) => {
    const match = all.find((r) => r.code === block.code);
    if (match === undefined) {
      throw new Error(
        `README.md line ${block.line}: no spec region holds this block verbatim. Put it in a ` +
          'test between `// #region readme-<name>` and `// #endregion`, or make the README ' +
          `match the tested code. The block:\n${block.text}`,
      );
    }
    const fileImports = match.text.split('\n').map((l) => l.trim());
    for (const line of block.imports) {
      if (!fileImports.includes(line)) {
        throw new Error(`README.md line ${block.line}: ${match.file} lacks the import \`${line}\``);
      }
    }
  },
);

it.each(all.map((r) => [r.name, r.file, r] as const))(
  'region %s (%s) is still in the README',
  (_name, _file, region) => {
    expect(blocks.some((b) => b.code === region.code)).toBe(true);
  },
);
