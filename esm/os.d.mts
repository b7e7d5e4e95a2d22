// Types of esm/os.mjs: the named exports of dist/os.js, and the same
// object as the default export.
import * as entry from '../dist/os.js';
export * from '../dist/os.js';
export default entry;
