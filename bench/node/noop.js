'use strict';
// A no-op child for child_process.fork (figure 1).
