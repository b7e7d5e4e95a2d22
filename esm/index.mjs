// ESM entry: the CommonJS build's exports by name (Node's CJS lexer finds
// them) and as the default export (module.exports, as Node gives it when ESM
// imports CommonJS), so both `import { x }` and `import m` work.
export * from '../dist/index.js';
export { default } from '../dist/index.js';
