// The op table: every backend kernel declared once, keyed by its one spelling (the Backend method
// name, which is also its WGSL entry point's name and the name `bench` and the step counters use).
//
// Each row says what the kernel is (kind), whether a backend may lack it (optional — checked against
// engine/backend.ts at compile time), how the step counters classify it, its storage-level argument
// check (arg-checks.ts, run by every backend), which backends implement it, the WGSL files and entry
// points of the webgpu kernel, the engine/ops functions that launch it, and for a fused kernel the
// engine/ops composite that defines its values (the op falls back to it where the kernel is missing
// or disabled; test/engine/op-table-fused.test.ts checks the two agree to second order).
//
// Adding a kernel: a Backend method, its row here (the type below fails until it exists), its CPU
// loop (engine/cpu), its WGSL (shaders/<name>.wgsl with `fn <name>`), and a row in
// test/engine/op-cases.ts when it is differentiable.

import { CHECK, type ArgCheck } from './arg-checks.js';
import type { IsOptional, KernelName } from './names.js';

export type KernelKind =
  | 'bookkeeping' // no device work
  | 'memory' //      uploads, fills, reads
  | 'primitive' //   elementwise, movement, reductions, matmul
  | 'fused' //       one kernel for what a composite of primitives computes
  | 'backward' //    a fused first-order backward (values only; the op's vjp in ops is its composite)
  | 'random'
  | 'optimizer'; //  in-place parameter updates, never differentiated

/** How bench/counters.ts counts a call: a kernel launch, the upload, the readback, or nothing. */
export type Counted = 'kernel' | 'upload' | 'readback' | 'other';

/** Backends that implement a kernel: the reference loops, the fast float32 cpu path, webgpu. */
export type BackendId = 'cpu' | 'cpuFast' | 'webgpu';

export interface WgslKernel {
  /** File under shaders/. */
  file: string;
  /** Entry points (`fn <entry>`) the kernel dispatches. */
  entries: readonly string[];
}

export interface OpEntry<K extends KernelName> {
  kind: KernelKind;
  /** The Backend interface declares the method optional (the op then composes it). */
  optional: IsOptional<K>;
  counted: Counted;
  /** The storage-level argument check every backend runs (null: nothing to check). */
  check: ArgCheck<K> | null;
  /** Backends with their own method (cpuFast: an override of the reference). */
  backends: readonly BackendId[];
  /** The webgpu kernel's WGSL (empty: no shader, e.g. host-side or a buffer copy). */
  wgsl: readonly WgslKernel[];
  /** engine/ops functions that launch the kernel. */
  ops: readonly string[];
  /** For fused kernels: the engine/ops export computing the same values from primitives. */
  composite?: string;
  /** The kernel's result is differentiated (an op-cases row must exercise it). */
  differentiable: boolean;
  /** `camels-gpu bench kernels --op <bench>` (the lowercase spelling is accepted too). */
  bench?: string;
  /** The method may return null for a call it does not do (e.g. the webgpu software family); the op then composes. */
  declines?: true;
}

export type OpTable = { readonly [K in KernelName]: OpEntry<K> };

const ALL: readonly BackendId[] = ['cpu', 'cpuFast', 'webgpu'];
const REF: readonly BackendId[] = ['cpu', 'webgpu'];
const GPU: readonly BackendId[] = ['webgpu'];
const w = (file: string, ...entries: string[]): WgslKernel => ({ file, entries });

const bookkeeping = { kind: 'bookkeeping', optional: false, counted: 'other', check: null, backends: REF, wgsl: [], ops: [], differentiable: false } as const;

export const OP_TABLE: OpTable = {
  // ---- memory and bookkeeping
  supportsDType: bookkeeping,
  free: bookkeeping,
  liveCount: bookkeeping,
  sync: bookkeeping,
  memoryStats: { ...bookkeeping, optional: true, backends: GPU },
  resetPeak: { ...bookkeeping, optional: true, backends: GPU },
  fromArray: { kind: 'memory', optional: false, counted: 'upload', check: null, backends: REF, wgsl: [], ops: ['tensor'], differentiable: false },
  read: { kind: 'memory', optional: false, counted: 'readback', check: null, backends: REF, wgsl: [], ops: ['Tensor.data'], differentiable: false },
  full: { kind: 'memory', optional: false, counted: 'kernel', check: CHECK.full, backends: REF, wgsl: [w('full.wgsl', 'full')], ops: ['full', 'zeros', 'ones'], differentiable: false },
  arange: { kind: 'memory', optional: true, counted: 'kernel', check: CHECK.arange, backends: REF, wgsl: [w('arange.wgsl', 'arangeInt32', 'arangeFloat32')], ops: ['arange', 'arangeRows'], differentiable: false },

  // ---- primitives
  unary: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.unary, backends: ALL, wgsl: [w('elementwise.wgsl', 'unary')], ops: ['exp', 'tanh', 'neg', 'geluTanh'], differentiable: true },
  binary: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.binary, backends: ALL, wgsl: [w('strided.wgsl', 'binary')], ops: ['add', 'mul', 'div'], differentiable: true },
  where: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.where, backends: ALL, wgsl: [w('strided.wgsl', 'whereSelect')], ops: ['where'], differentiable: true },
  // cast runs the unary kernel with a conversion body (`cast` is a WGSL reserved word); same dtype: a buffer copy.
  // Not marked as differentiable here: its vjp is a cast back, which a one-dtype gradient check cannot test.
  cast: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.cast, backends: REF, wgsl: [w('elementwise.wgsl', 'unary')], ops: ['cast'], differentiable: false },
  copy: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.copy, backends: ALL, wgsl: [w('strided.wgsl', 'copy')], ops: ['permute', 'transpose', 'slice'], differentiable: true },
  copyInto: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.copyInto, backends: ALL, wgsl: [w('strided.wgsl', 'copy', 'copyInto')], ops: ['concat'], differentiable: true },
  pad: { kind: 'primitive', optional: true, counted: 'kernel', check: CHECK.pad, backends: GPU, wgsl: [w('strided.wgsl', 'pad'), w('full.wgsl', 'full')], ops: ['pad'], differentiable: true },
  gather: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.gather, backends: REF, wgsl: [w('indexing.wgsl', 'gather')], ops: ['gather'], differentiable: true },
  scatterAdd: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.scatterAdd, backends: REF, wgsl: [w('indexing.wgsl', 'scatterAddLinks', 'scatterAdd')], ops: ['scatterAdd'], differentiable: true },
  topk: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.topk, backends: REF, wgsl: [w('topk.wgsl', 'topk')], ops: ['topk'], differentiable: false },
  oneHot: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.oneHot, backends: REF, wgsl: [w('indexing.wgsl', 'oneHot')], ops: ['oneHot'], differentiable: false },
  reduce: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.reduce, backends: ALL, wgsl: [w('reduce.wgsl', 'reduceRows', 'reduceCols')], ops: ['sum', 'max', 'min'], differentiable: true },
  // matmul's WGSL is being rewritten elsewhere; the row names its entries as they are.
  matmul: { kind: 'primitive', optional: false, counted: 'kernel', check: CHECK.matmul, backends: ALL, wgsl: [w('matmul.wgsl', 'matmul', 'matmul_naive', 'pack_a', 'pack_b', 'matmul_rows', 'splitk_reduce'), w('matmul_tiled128.wgsl', 'matmul_tiled128')], ops: ['matmul', 'matmulBias', 'linear'], differentiable: true, bench: 'matmul' },

  // ---- fused forward kernels (each with the composite that defines it)
  addScaled: { kind: 'fused', optional: true, counted: 'kernel', check: CHECK.addScaled, backends: GPU, wgsl: [w('elementwise.wgsl', 'addScaled')], ops: ['addScaled'], composite: 'addScaledComposite', differentiable: true },
  softmax: { kind: 'fused', optional: false, counted: 'kernel', check: CHECK.softmax, backends: ALL, wgsl: [w('softmax.wgsl', 'softmax')], ops: ['softmax'], composite: 'softmaxComposite', differentiable: true, bench: 'softmax' },
  logSoftmax: { kind: 'fused', optional: false, counted: 'kernel', check: CHECK.logSoftmax, backends: ALL, wgsl: [w('softmax.wgsl', 'logSoftmax')], ops: ['logSoftmax'], composite: 'logSoftmaxComposite', differentiable: true },
  layerNorm: { kind: 'fused', optional: false, counted: 'kernel', check: CHECK.layerNorm, backends: ALL, wgsl: [w('layerNorm.wgsl', 'layerNorm')], ops: ['layerNorm'], composite: 'layerNormComposite', differentiable: true, bench: 'layerNorm' },
  crossEntropy: { kind: 'fused', optional: false, counted: 'kernel', check: CHECK.crossEntropy, backends: ALL, wgsl: [w('crossEntropy.wgsl', 'crossEntropy')], ops: ['crossEntropy'], composite: 'crossEntropyComposite', differentiable: true },
  maskedSoftmax: { kind: 'fused', optional: true, counted: 'kernel', check: CHECK.maskedSoftmax, backends: ['cpuFast', 'webgpu'], wgsl: [w('attention.wgsl', 'masked_softmax')], ops: ['maskedSoftmax'], composite: 'maskedSoftmaxComposite', differentiable: true },
  attention: { kind: 'fused', optional: false, counted: 'kernel', check: CHECK.attention, backends: ALL, wgsl: [w('attention.wgsl', 'attention')], ops: ['attention'], composite: 'attentionComposite', differentiable: true, bench: 'attention' },
  attentionPacked: { kind: 'fused', optional: true, counted: 'kernel', check: CHECK.attentionPacked, backends: GPU, wgsl: [w('attention.wgsl', 'attention')], ops: ['attentionPacked'], composite: 'attentionPackedComposite', differentiable: true, declines: true },
  attentionRows: { kind: 'fused', optional: true, counted: 'kernel', check: CHECK.attentionRows, backends: GPU, wgsl: [w('attention.wgsl', 'attention')], ops: ['attentionRows'], composite: 'attentionRowsComposite', differentiable: true, declines: true },

  // ---- fused first-order backward kernels (values only; the composite is the op's vjp in ops)
  crossEntropyBackward: { kind: 'backward', optional: false, counted: 'kernel', check: CHECK.crossEntropyBackward, backends: ALL, wgsl: [w('crossEntropyBackward.wgsl', 'crossEntropyBackward')], ops: ['crossEntropy'], differentiable: true },
  crossEntropyGradBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.crossEntropyGradBackward, backends: ALL, wgsl: [w('crossEntropyBackward.wgsl', 'crossEntropyGradBackward')], ops: ['crossEntropy'], differentiable: false },
  softmaxBackward: { kind: 'backward', optional: false, counted: 'kernel', check: CHECK.softmaxBackward, backends: ALL, wgsl: [w('softmaxBackward.wgsl', 'softmaxBackward')], ops: ['softmax'], differentiable: false },
  layerNormBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.layerNormBackward, backends: REF, wgsl: [w('layerNormBackward.wgsl', 'layerNormBackward', 'layerNormBackwardParamPartials', 'layerNormBackwardParamSum')], ops: ['layerNorm'], differentiable: true },
  layerNormGradBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.layerNormGradBackward, backends: REF, wgsl: [w('layerNormGradBackward.wgsl', 'layerNormGradBackward')], ops: ['layerNorm'], differentiable: false },
  layerNormWeightGradBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.layerNormWeightGradBackward, backends: REF, wgsl: [w('layerNormGradBackward.wgsl', 'layerNormWeightGradBackward')], ops: ['layerNorm'], differentiable: false },
  geluBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.geluBackward, backends: ALL, wgsl: [w('elementwise.wgsl', 'geluBackward')], ops: ['geluTanh', 'geluErf'], differentiable: true },
  geluGradBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.geluGradBackward, backends: ALL, wgsl: [w('elementwise.wgsl', 'geluGradBackward', 'geluBackward')], ops: ['geluTanh', 'geluErf'], differentiable: false },
  attentionBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.attentionBackward, backends: REF, wgsl: [w('attention_backward.wgsl', 'attention_bwd_dq', 'attention_bwd_dkv')], ops: ['attention'], differentiable: false, declines: true },
  attentionPackedBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.attentionPackedBackward, backends: GPU, wgsl: [w('attention_backward.wgsl', 'attention_bwd_dq', 'attention_bwd_dkv')], ops: ['attentionPacked'], differentiable: false, declines: true },
  attentionRowsBackward: { kind: 'backward', optional: true, counted: 'kernel', check: CHECK.attentionRowsBackward, backends: GPU, wgsl: [w('attention_backward.wgsl', 'attention_bwd_dq', 'attention_bwd_dkv')], ops: ['attentionRows'], differentiable: false, declines: true },

  // ---- positions, randomness, optimizers
  rotaryTable: { kind: 'memory', optional: true, counted: 'kernel', check: CHECK.rotaryTable, backends: REF, wgsl: [w('rotaryTable.wgsl', 'rotaryTable')], ops: ['rotaryTables'], differentiable: false },
  dropoutMask: { kind: 'random', optional: false, counted: 'kernel', check: CHECK.dropoutMask, backends: ALL, wgsl: [w('dropoutMask.wgsl', 'dropoutMask')], ops: ['dropout'], differentiable: false },
  adamStep: { kind: 'optimizer', optional: false, counted: 'kernel', check: CHECK.adamStep, backends: ALL, wgsl: [w('optim.wgsl', 'adamStep')], ops: ['Adam.step'], differentiable: false },
  sgdStepInPlace: { kind: 'optimizer', optional: false, counted: 'kernel', check: CHECK.sgdStepInPlace, backends: REF, wgsl: [w('optim.wgsl', 'sgdStepInPlace')], ops: ['sgdStepInPlace'], differentiable: false },
  sgdStepInPlaceGroup: { kind: 'optimizer', optional: true, counted: 'kernel', check: CHECK.sgdStepInPlaceGroup, backends: GPU, wgsl: [w('sgdStepInPlaceGroup.wgsl', 'sgdStepInPlaceGroup')], ops: ['sgdStepInPlace'], differentiable: false },
};

/** Every kernel name, in table order. */
export const KERNEL_NAMES = Object.keys(OP_TABLE) as KernelName[];

/** The table row for a bench op name (either spelling: `layerNorm` or `layernorm`), or null. */
export function kernelForBench(op: string): KernelName | null {
  const want = op.toLowerCase();
  return KERNEL_NAMES.find((k) => OP_TABLE[k].bench?.toLowerCase() === want) ?? null;
}
