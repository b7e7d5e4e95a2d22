// ESM entry: re-exports the CommonJS build (named exports via Node's CJS lexer).
export * from '../dist/cluster/index.js';
