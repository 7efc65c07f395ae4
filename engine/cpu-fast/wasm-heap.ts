// The fast path's WebAssembly state: one shared memory, the matmul module compiled once (with
// relaxed-SIMD madd when the runtime validates it), the row-kernel, binary-op and unary-op modules, the main thread's
// instances, and a bump
// allocator for a call's scratch (operands, packed panels, padded output) that is reset per call.
//
// Memory map: bytes [0, 64 KiB) are the control page (the pool's control block at 0, the matmul
// descriptor table at DESC_BYTE); scratch starts at 64 KiB. The memory only grows (to what the
// largest call needed); views are re-made after growth.

import { wasmFeatures } from '../wasm/features.js';
import { matmulModuleBytes } from './matmul-wasm.js';
import type { MatmulExports } from './matmul-unit.js';
import { binaryModuleBytes, type BinaryExports } from './binary-wasm.js';
import { rowsModuleBytes, type RowExports } from './rows-wasm.js';
import { unaryModuleBytes, type UnaryExports } from './unary-wasm.js';

const PAGE = 65536;
/** 2 GiB: the most scratch one call may use (shared memories must declare a maximum). */
const MAX_PAGES = 32768;
export const CONTROL_BYTES = PAGE;
export const DESC_BYTE = 1024;

export interface WasmHeap {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ex: MatmulExports;
  /** Row kernels (main thread only). */
  rows: RowExports;
  /** Binary elementwise ops by `${op}_${kinds}` (main thread only). */
  binary: BinaryExports;
  /** neg, mul_scalar, add_scalar (main thread only). */
  unary: UnaryExports;
  relaxed: boolean;
  shared: boolean;
  /** Int32 view of the control page. */
  ctrl: Int32Array;
}

let heap: WasmHeap | null | undefined;
let top = CONTROL_BYTES;

/** The heap, or null when this runtime has no WebAssembly SIMD (the caller falls back to JS). */
export function wasmHeap(): WasmHeap | null {
  if (heap !== undefined) return heap;
  const feat = wasmFeatures();
  if (!feat.simd || process.env.CAMELS_CPU_KERNELS === 'reference') {
    heap = null;
    return heap;
  }
  const shared = feat.threads;
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
  const module = new WebAssembly.Module(matmulModuleBytes({ relaxed: feat.relaxedSimd, shared, maximumPages: MAX_PAGES }));
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as MatmulExports;
  const rowsModule = new WebAssembly.Module(rowsModuleBytes({ shared, maximumPages: MAX_PAGES }));
  const rows = new WebAssembly.Instance(rowsModule, { env: { memory } }).exports as unknown as RowExports;
  const binaryModule = new WebAssembly.Module(binaryModuleBytes({ shared, maximumPages: MAX_PAGES }));
  const binary = new WebAssembly.Instance(binaryModule, { env: { memory } }).exports as unknown as BinaryExports;
  const unaryModule = new WebAssembly.Module(unaryModuleBytes({ shared, maximumPages: MAX_PAGES }));
  const unary = new WebAssembly.Instance(unaryModule, { env: { memory } }).exports as unknown as UnaryExports;
  heap = { memory, module, ex, rows, binary, unary, relaxed: feat.relaxedSimd, shared, ctrl: new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4) };
  return heap;
}

/** Start a call's scratch (everything allocated by the previous call is given up). */
export function resetScratch(): void {
  top = CONTROL_BYTES;
}

/** `bytes` of scratch, 64-byte aligned, growing the memory when needed; returns the byte address. */
export function allocScratch(h: WasmHeap, bytes: number): number {
  const at = top;
  top = (top + bytes + 63) & ~63;
  if (top > MAX_PAGES * PAGE || top < 0) throw new Error(`cpu-fast: a call needs more than ${(MAX_PAGES * PAGE) / 2 ** 30} GiB of scratch`);
  const have = h.memory.buffer.byteLength;
  if (top > have) h.memory.grow(Math.ceil((top - have) / PAGE));
  return at;
}

/** A float32 view of the whole memory as it is now. */
export function f32View(h: WasmHeap): Float32Array {
  return new Float32Array(h.memory.buffer);
}
