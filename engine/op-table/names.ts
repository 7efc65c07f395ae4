// The one spelling of every backend kernel: the Backend interface's method names (engine/backend.ts).
// The same string names the op table's row, the WGSL entry point, the kernel counter and the bench op.

import type { Backend } from '../backend.js';

/** Every Backend member that is a method (kernels, memory and bookkeeping). */
export type KernelName = Exclude<keyof Backend, 'name' | 'adapterName' | 'isSoftware'>;

/** The argument list of a Backend method (optional methods included). */
export type KernelArgs<K extends KernelName> = NonNullable<Backend[K]> extends (...args: infer A) => unknown ? A : never;

/** True when the Backend interface declares the method optional (a backend may lack it). */
export type IsOptional<K extends KernelName> = undefined extends Backend[K] ? true : false;
