#!/bin/sh
# Rebuilds the addon and the TypeScript under one lock, so that several
# developers (or agents) working in one checkout never build at once.
# configure + build (not rebuild): the previous addon stays loadable until
# the new one is copied over it, so tests running meanwhile still find one.
exec flock /tmp/forkful-build.lock sh -c '
  { npx node-gyp configure && npx node-gyp build -j 2; } >/tmp/forkful-native-build.log 2>&1 ||
    { tail -40 /tmp/forkful-native-build.log; exit 1; }
  npx tsc -p tsconfig.build.json'
