'use strict';
// workerpool's task for figure 3.
require('workerpool').worker({ square: (x) => x * x });
