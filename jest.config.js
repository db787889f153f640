/** Tests run the real app over real HTTP; one file at a time (2-core machine). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, strict: true, skipLibCheck: true, resolveJsonModule: true, types: ['node', 'jest'] }, diagnostics: { warnOnly: false } }] },
  testTimeout: 60000,
};
