// Types of esm/cluster.mjs: the named exports of dist/cluster/index.js, and the same
// object as the default export.
import * as entry from '../dist/cluster/index.js';
export * from '../dist/cluster/index.js';
export default entry;
