// Types of esm/multiprocessing.mjs: the named exports of dist/multiprocessing/index.js, and the same
// object as the default export.
import * as entry from '../dist/multiprocessing/index.js';
export * from '../dist/multiprocessing/index.js';
export default entry;
