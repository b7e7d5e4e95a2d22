// Imported first by a test file that runs on the portable backend in this
// process: lib/core/native.ts reads FORKFUL_NO_NATIVE when it loads, and
// spawned children inherit it. (Jest gives each test file its own
// process.env, so other files keep the native backend.)
process.env.FORKFUL_NO_NATIVE = '1';
