import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts', '**/*.spec.tsx'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  // Sources import with the `.js` extension (Node ESM style); map back to the .ts files.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Tests and README examples import the package by name, as users do.
    '^rxwire$': '<rootDir>/src/index.ts',
    '^rxwire/(audio|testing|react)$': '<rootDir>/src/$1/index.ts',
    '^rxwire/server$': '<rootDir>/server/index.ts',
    '^rxwire/cluster$': '<rootDir>/cluster/index.ts',
  },
  testTimeout: 30_000,
};

export default config;
