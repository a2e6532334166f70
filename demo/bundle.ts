// The demo's page scripts: each entry in `pageScripts` is bundled for the
// browser by esbuild when the package is built (`npm run build` writes
// dist/cjs/demo/pages/<name>.js, which ships in the package), and served at
// `/<name>.js`. At run time the demo reads the prebuilt file and needs nothing
// but express; only when it runs from the repository's sources without a build
// (ts-node, jest) does it bundle from source, with esbuild (a devDependency).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** One script the demo serves. */
export interface PageScript {
  /** Served at `/<name>.js`; prebuilt as dist/cjs/demo/pages/<name>.js. */
  name: string;
  /** The entry module, relative to demo/ (TypeScript; `.tsx` is bundled with the automatic JSX runtime). */
  source: string;
}

/** Every page script the demo serves: add an entry here and `npm run build` ships it. */
export const pageScripts: readonly PageScript[] = [
  { name: 'app', source: 'web/main.ts' },
  { name: 'react', source: 'react/main.tsx' },
];

/** A page script ready to serve, or why there is none. */
export type PageBundle =
  { ok: true; code: string; from: 'prebuilt' | 'source' } | { ok: false; reason: string };

/** Where the build puts the scripts: beside the compiled demo (dist/cjs/demo/pages). */
const prebuiltFolder = join(__dirname, 'pages');

/**
 * Loads one page script: the prebuilt file when there is one, else a bundle
 * made from source now. Never throws (the page says what went wrong instead).
 */
export async function loadPageScript(script: PageScript): Promise<PageBundle> {
  const prebuilt = join(prebuiltFolder, `${script.name}.js`);
  if (existsSync(prebuilt)) {
    return { ok: true, code: readFileSync(prebuilt, 'utf8'), from: 'prebuilt' };
  }
  const bundled = await bundleFromSource(script, { sourcemap: 'inline', minify: false });
  return bundled.ok ? { ok: true, code: bundled.code, from: 'source' } : bundled;
}

/** Loads every script in `pageScripts`, by name. */
export async function loadPageScripts(): Promise<Map<string, PageBundle>> {
  const loaded = await Promise.all(
    pageScripts.map(async (script) => [script.name, await loadPageScript(script)] as const),
  );
  return new Map(loaded);
}

/**
 * Bundles every script in `pageScripts` into `folder` (dist/cjs/demo/pages
 * unless told otherwise); `npm run build` calls it after compiling. Throws
 * when one cannot be built, so a broken page fails the build.
 */
export async function buildPageScripts(folder = prebuiltFolder): Promise<string[]> {
  mkdirSync(folder, { recursive: true });
  const written: string[] = [];
  for (const script of pageScripts) {
    const bundled = await bundleFromSource(script, { sourcemap: false, minify: true });
    if (!bundled.ok) throw new Error(`page script '${script.name}': ${bundled.reason}`);
    const path = join(folder, `${script.name}.js`);
    writeFileSync(path, bundled.code);
    written.push(path);
  }
  return written;
}

/**
 * The entry's source file: beside this module when it runs from source, or in
 * the repository when it runs from dist/cjs/demo (`npm run build`, `npm start`).
 */
function findSource(script: PageScript): string | undefined {
  const candidates = [
    join(__dirname, script.source),
    join(__dirname, '..', '..', '..', 'demo', script.source),
  ];
  return candidates.find((path) => existsSync(path));
}

async function bundleFromSource(
  script: PageScript,
  output: { sourcemap: 'inline' | false; minify: boolean },
): Promise<{ ok: true; code: string } | { ok: false; reason: string }> {
  const entry = findSource(script);
  if (!entry) {
    return {
      ok: false,
      reason: `neither a prebuilt pages/${script.name}.js (npm run build) nor demo/${script.source} was found`,
    };
  }
  let esbuild: typeof import('esbuild');
  try {
    // esbuild is a devDependency: present in the repository, not in an installed package.
    esbuild = createRequire(__filename)('esbuild') as typeof import('esbuild');
  } catch {
    return {
      ok: false,
      reason: `pages/${script.name}.js was not built and esbuild is not installed (npm run build, or npm install --save-dev esbuild)`,
    };
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
      sourcemap: output.sourcemap,
      minify: output.minify,
      logLevel: 'silent',
    });
    const file = result.outputFiles[0];
    if (!file) return { ok: false, reason: 'esbuild produced no output' };
    return { ok: true, code: file.text };
  } catch (error) {
    return { ok: false, reason: `esbuild failed: ${String((error as Error).message ?? error)}` };
  }
}
