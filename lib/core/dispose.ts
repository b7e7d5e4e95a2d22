// Symbol.dispose and Symbol.asyncDispose, which `using` and `await using`
// call. Every Node forkful supports has them (20.4 and later); where one is
// absent, it is defined once here, through the symbol registry as Node's
// own polyfill did, before any class of forkful names it. Loaded by
// errors.ts, which every module imports first.
const symbols = Symbol as unknown as Record<'dispose' | 'asyncDispose', symbol | undefined>;
for (const name of ['dispose', 'asyncDispose'] as const) {
  if (typeof symbols[name] !== 'symbol') {
    Object.defineProperty(Symbol, name, { value: Symbol.for(`nodejs.${name}`) });
  }
}

export {};
