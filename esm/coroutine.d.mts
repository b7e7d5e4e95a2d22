// Types of esm/coroutine.mjs: the named exports of dist/coroutine/index.js, and the same
// object as the default export.
import * as entry from '../dist/coroutine/index.js';
export * from '../dist/coroutine/index.js';
export default entry;
