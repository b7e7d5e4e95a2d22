// Types of esm/index.mjs: the named exports of dist/index.js, and the same
// object as the default export.
import * as entry from '../dist/index.js';
export * from '../dist/index.js';
export default entry;
