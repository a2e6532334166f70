// What the long-run scripts (chaos, fuzz, soak) share: their harness is
// TypeScript in spec/helpers, bundled with esbuild (dependencies stay
// external) and imported; and `--name value` / `--name=value` numbers.
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');

/** Imports `names` from spec/helpers/<helper>.ts. */
export async function bundleHelper(helper, names) {
  const out = await build({
    stdin: {
      contents: `export { ${names.join(', ')} } from './spec/helpers/${helper}.ts';`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'error',
  });
  const dir = mkdtempSync(join(root, 'node_modules', `.rxwire-${helper}-`));
  const file = join(dir, `${helper}.mjs`);
  writeFileSync(file, out.outputFiles[0].text);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--name value` or `--name=value` for each name of `defaults`, as numbers (NaN when not one). */
export function numberArgs(args, defaults) {
  const out = {};
  for (const [name, fallback] of Object.entries(defaults)) {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) {
      out[name] = fallback;
      continue;
    }
    const [, inline] = args[i].split('=');
    out[name] = Number(inline ?? args[i + 1]);
  }
  return out;
}
