import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts', '**/*.spec.tsx'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  moduleNameMapper: {
    // Sources import with the `.js` extension (Node ESM style); map back to the .ts files.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The package's own entry names, as README examples import them (tsconfig `paths` too).
    '^rxwire$': '<rootDir>/src/index.ts',
    '^rxwire/(audio|testing|react)$': '<rootDir>/src/$1/index.ts',
    '^rxwire/server$': '<rootDir>/server/index.ts',
  },
  testTimeout: 30_000,
};

export default config;
