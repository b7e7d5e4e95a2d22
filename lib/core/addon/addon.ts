// native/addon.cc: the module's own exports (the rest come from the
// concerns it registers, one file each beside this one).

/** The Node line a binary was built for. */
export interface BuiltFor {
  version: string;
  abi: number;
}

export interface AddonBinding {
  builtFor: BuiltFor;
  /** Set (and nothing else registered) when the binary is for another Node. */
  abiMismatch?: string;
  /** The error classes native code constructs by name (lib/core/errors). */
  registerErrorClasses(classes: Record<string, new (message?: string) => Error>): void;
  /** Each registered concern's export names, by registration name: what the
   * tables of lib/core/addon are checked against. */
  concerns: Record<string, string[]>;
}

export const addonExports = {
  builtFor: 'object',
  registerErrorClasses: 'function',
  concerns: 'object',
} as const satisfies Record<Exclude<keyof AddonBinding, 'abiMismatch'>, ExportKind>;

/** What `typeof` says of an export (a native class is a 'function'). */
export type ExportKind = 'function' | 'number' | 'object';
