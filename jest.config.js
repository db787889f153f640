/** Tests run the real app over real HTTP; one file at a time (2-core machine). */
const tsOptions = { target: 'ES2022', module: 'commonjs', esModuleInterop: true, strict: true, skipLibCheck: true, resolveJsonModule: true, types: ['node', 'jest'] };
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: tsOptions, diagnostics: { warnOnly: false } }],
    // So are jose and the c2pa-rs WebAssembly bindings; Node runs them natively (require(esm)), jest needs them compiled to CommonJS.
    '^.+/node_modules/(jose|@contentauth/c2pa-wasm)/.+\\.js$': ['ts-jest', { tsconfig: { ...tsOptions, allowJs: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|@contentauth/c2pa-wasm)/)'],
  testTimeout: 60000,
};
