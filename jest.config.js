/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 60000,
  // dist/ (what fixtures and children run) brought up to date with lib/.
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
  // Fork-heavy tests run their work in fixture processes; two jest workers
  // keep the two cores busy without starving those fixtures.
  maxWorkers: 2,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: true }] },
};
