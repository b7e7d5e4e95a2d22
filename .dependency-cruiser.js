// The layering of lib/ (docs/architecture.md), checked by `npm run lint`:
// every import points down, and no module takes part in a cycle.
//
//   core -> runtime -> transfer -> os -> synchronize -> multiprocessing | threading -> entry points
//   coroutine -> core
//   cluster -> multiprocessing (forkful/cluster: a Pool across machines)
//
// A layer may import itself and any layer below it. The entry points (the
// public modules, the reviver table, and the programs a spawned child or a
// Thread runs) may import anything, as long as no cycle results.
const ENTRY =
  '^lib/(index|shareables|multiprocessing/index|multiprocessing/start/spawn-bootstrap|threading/index|threading/bootstrap|coroutine/index)\\.ts$';

/** `from` may import only what `allowed` matches (plus non-lib modules). */
function layer(name, from, allowed) {
  return {
    name: `layer-${name}`,
    comment: `${name} imports only from: ${allowed}`,
    severity: 'error',
    from: { path: from, pathNot: ENTRY },
    to: { path: '^lib/', pathNot: allowed },
  };
}

const core = '^lib/core/';
const runtime = `${core}|^lib/runtime/`;
const transfer = `${runtime}|^lib/transfer/`;
const os = `${transfer}|^lib/os\\.ts$`;
const synchronize = `${os}|^lib/synchronize/`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle makes load order matter and layers meaningless',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    layer('core', '^lib/core/', core),
    layer('runtime', '^lib/runtime/', runtime),
    layer('transfer', '^lib/transfer/', transfer),
    layer('os', '^lib/os\\.ts$', os),
    layer('synchronize', '^lib/synchronize/', synchronize),
    layer('multiprocessing', '^lib/multiprocessing/', `${synchronize}|^lib/multiprocessing/`),
    layer('threading', '^lib/threading/', `${synchronize}|^lib/threading/`),
    layer('cluster', '^lib/cluster/', `${synchronize}|^lib/multiprocessing/|^lib/cluster/`),
    layer('coroutine', '^lib/coroutine/', `${core}|^lib/coroutine/`),
    {
      name: 'lib-only-from-lib',
      comment: 'lib/ never imports tests, scripts or bench code',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(test|scripts|bench|examples)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
