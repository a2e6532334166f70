import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The library reports through the `logger` option, never the console.
    files: ['src/**/*.{ts,tsx}', 'server/**/*.ts', 'cluster/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // src/ runs in browsers: it never reaches for Node, ws or Express.
    files: ['src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'ws', 'express', 'jose', '../../server/*', '../server/*'] },
      ],
    },
  },
  {
    // Node programs outside the TypeScript build.
    files: ['scripts/**/*.{mjs,cjs,js}', 'bench/**/*.{mjs,cjs,js}'],
    languageOptions: { globals: globals.node },
  },
);
