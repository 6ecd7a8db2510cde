/** One Temporal dev server per jest worker for the whole run (test/global-setup.ts, test/setup-worker.ts). */
// ESM-only packages in got 14's dependency tree (scopes included).
const ESM_ONLY = ['got', '@sindresorhus/is', 'byte-counter', 'cacheable-lookup', 'cacheable-request', 'get-stream', '@sec-ant/readable-stream', 'is-stream', 'keyv', '@keyv/serialize', 'mimic-response', 'normalize-url', 'responselike', 'lowercase-keys', 'decompress-response', 'form-data-encoder', 'p-cancelable'];

module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/.data', '<rootDir>/.lab'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFiles: ['<rootDir>/test/setup-worker.ts'],
  testTimeout: 120000,
  clearMocks: true,
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // got 14 and its dependencies are ESM-only: Node requires them natively, Jest 29 cannot, so ts-jest
    // compiles just those packages to CommonJS (the drivers still speak real HTTPS in tests).
    '^.+/node_modules/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022', isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
