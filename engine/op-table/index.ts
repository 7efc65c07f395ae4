// The op table (engine/op-table): every backend kernel declared once under one name, with its
// argument check, implementations, WGSL, composite and bench name; see table.ts.

export { CHECK, type ArgCheck } from './arg-checks.js';
export { hasKernel, parseKernelList, withoutKernels, type OptionalKernel } from './fallback.js';
export type { IsOptional, KernelArgs, KernelName } from './names.js';
export type { DeviceRules } from './rules.js';
export { KERNEL_NAMES, OP_TABLE, kernelForBench, type BackendId, type Counted, type KernelKind, type OpEntry, type OpTable, type WgslKernel } from './table.js';
