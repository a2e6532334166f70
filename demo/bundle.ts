// Bundles a page script (demo/web/main.ts, or the React page's
// demo/react/main.tsx) with esbuild when the demo starts: one ES module for
// the browser, built in memory from the same modules the package exports
// (src/index.ts, src/audio/index.ts, src/react/index.ts).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The page script, or why there is none. */
export type PageBundle = { ok: true; code: string } | { ok: false; reason: string };

/**
 * Where the entry (`web/main.ts`, relative to demo/) is: beside this file when
 * it runs from source (ts-node, jest), or in the repository when it runs from
 * dist/cjs/demo (`npm start`); the compiled `.js` is the last resort.
 */
function findEntry(source: string): string | undefined {
  const candidates = [
    join(__dirname, source),
    join(__dirname, '..', '..', '..', 'demo', source),
    join(__dirname, source.replace(/\.tsx?$/, '.js')),
  ];
  return candidates.find((path) => existsSync(path));
}

/** Builds a page script; never throws (the page says what went wrong instead). */
export async function bundlePage(source = 'web/main.ts'): Promise<PageBundle> {
  const entry = findEntry(source);
  if (!entry) return { ok: false, reason: `demo/${source} not found` };
  let esbuild: typeof import('esbuild');
  try {
    // esbuild is a devDependency: present in the repository, maybe not in an installed package.
    esbuild = createRequire(__filename)('esbuild') as typeof import('esbuild');
  } catch {
    return { ok: false, reason: 'esbuild is not installed (npm install --save-dev esbuild)' };
  }
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      jsx: 'automatic',
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    const file = result.outputFiles[0];
    if (!file) return { ok: false, reason: 'esbuild produced no output' };
    return { ok: true, code: file.text };
  } catch (error) {
    return { ok: false, reason: `esbuild failed: ${String((error as Error).message ?? error)}` };
  }
}
