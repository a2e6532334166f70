import type { Config } from 'jest';

// Sources import with the `.js` extension (Node ESM style); map back to the .ts files.
const moduleNameMapper: Record<string, string> = {
  '^(\\.{1,2}/.*)\\.js$': '$1',
  // Tests and README examples import the package by name, as users do.
  '^rxwire$': '<rootDir>/src/index.ts',
  '^rxwire/(audio|testing|react)$': '<rootDir>/src/$1/index.ts',
  '^rxwire/server$': '<rootDir>/server/index.ts',
  '^rxwire/cluster$': '<rootDir>/cluster/index.ts',
};

const shared: Config = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
};

const config: Config = {
  // A global option: jest ignores it inside a project.
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: 'rxwire',
      roots: ['<rootDir>/spec'],
      testMatch: ['**/*.spec.ts', '**/*.spec.tsx'],
      moduleNameMapper,
      globals: { expectedReactMajor: 19 },
    },
    {
      // rxwire/react's hook, SSR and hydration tests again on React 18, the
      // oldest React the peer range allows. React 18 is installed by the
      // workspace spec/react-18 (its react-dom 18 cannot share the root's React 19).
      ...shared,
      displayName: 'react 18',
      roots: ['<rootDir>/spec/react'],
      testMatch: ['**/*.spec.tsx'],
      globals: { expectedReactMajor: 18 },
      moduleNameMapper: {
        ...moduleNameMapper,
        '^react$': '<rootDir>/spec/react-18/node_modules/react',
        '^react/(.*)$': '<rootDir>/spec/react-18/node_modules/react/$1',
        '^react-dom$': '<rootDir>/spec/react-18/node_modules/react-dom',
        '^react-dom/(.*)$': '<rootDir>/spec/react-18/node_modules/react-dom/$1',
      },
    },
  ],
};

export default config;
