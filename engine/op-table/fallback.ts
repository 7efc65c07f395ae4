// The one fallback rule for optional kernels: an op uses a backend's optional (fused) kernel only
// where hasKernel says so — the backend has the method and the kernel is not disabled — and
// otherwise computes the op from its composite (the op table names it). Kernels can be disabled by
// name for a comparison: CAMELS_DISABLE_KERNELS=layerNormBackward,geluBackward, or withoutKernels in
// tests (test/engine/op-table-fused.test.ts runs every fused op both ways).

import type { Backend } from '../backend.js';
import type { KernelName } from './names.js';
import { OP_TABLE } from './table.js';

/** The kernels a backend may lack. */
export type OptionalKernel = { [K in KernelName]: undefined extends Backend[K] ? K : never }[KernelName];

const disabled = new Set<OptionalKernel>();

/** Optional kernel names from a comma-separated list; unknown or required names are an error. */
export function parseKernelList(list: string, source: string): OptionalKernel[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    const row = (OP_TABLE as Record<string, { optional: boolean } | undefined>)[n];
    if (!row) throw new Error(`${source}: unknown kernel '${n}' (kernel names are the Backend method names, e.g. layerNormBackward)`);
    if (!row.optional) throw new Error(`${source}: kernel '${n}' is required by every backend and cannot be disabled`);
  }
  return names as OptionalKernel[];
}

for (const n of parseKernelList(process.env.CAMELS_DISABLE_KERNELS ?? '', 'CAMELS_DISABLE_KERNELS')) disabled.add(n);

/** True when the op should run `b`'s kernel `name` (it has one, and it is not disabled). */
export function hasKernel<K extends OptionalKernel>(b: Backend, name: K): b is Backend & { [P in K]-?: NonNullable<Backend[P]> } {
  return b[name] !== undefined && !disabled.has(name);
}

/** Run `fn` with the named optional kernels disabled (ops take their composites), then restore (after the promise settles when fn is async). */
export function withoutKernels<T>(names: readonly OptionalKernel[], fn: () => T): T {
  const added = names.filter((n) => !disabled.has(n));
  for (const n of added) disabled.add(n);
  const restore = () => {
    for (const n of added) disabled.delete(n);
  };
  let out: T;
  try {
    out = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (out instanceof Promise) return out.finally(restore) as T;
  restore();
  return out;
}
