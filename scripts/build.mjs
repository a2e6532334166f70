// Builds dist/cjs (CommonJS) and dist/esm (ES modules), each with its own
// declarations, and marks each folder's module kind with a package.json so
// Node and TypeScript read both the code and the types the right way. Then
// bundles the demo's page scripts into dist/cjs/demo/pages, so the installed
// package's `rxwire serve` needs no bundler.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
for (const [project, type] of [
  ['tsconfig.build.json', 'commonjs'],
  ['tsconfig.build.esm.json', 'module'],
]) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  const out = type === 'module' ? 'dist/esm' : 'dist/cjs';
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/package.json`, JSON.stringify({ type }, null, 2) + '\n');
}

// The list of pages and how they are bundled live in demo/bundle.ts, compiled just above.
const { buildPageScripts } = require(resolve('dist/cjs/demo/bundle.js'));
for (const path of await buildPageScripts()) {
  console.log(`page script: ${relative(process.cwd(), path)}`);
}
