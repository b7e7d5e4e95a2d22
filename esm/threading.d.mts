// Types of esm/threading.mjs: the named exports of dist/threading/index.js, and the same
// object as the default export.
import * as entry from '../dist/threading/index.js';
export * from '../dist/threading/index.js';
export default entry;
