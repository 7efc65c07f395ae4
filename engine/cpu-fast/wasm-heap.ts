// The fast path's WebAssembly state: one shared memory, the matmul module compiled once (with
// relaxed-SIMD madd when the runtime validates it), the row-kernel, binary-op and unary-op modules,
// the main thread's instances, and the allocator of that memory.
//
// Memory map: bytes [0, 64 KiB) are the control page (the pool's control block at 0, the matmul
// descriptor table at DESC_BYTE); then two regions (the memory only grows; pages never touched
// cost no physical memory):
//  - [64 KiB, RESIDENT_LIMIT): resident arrays — float32 storage arrays that live in the memory
//    (when it is shared, so that a
//    view stays valid when the memory grows), so that kernels read and write them in place instead
//    of copying them in and out. They are handed out by the float32 recycler (ResidentArrays, which
//    FastCpuBackend installs into engine/cpu/storage.ts), go back to a free list (by length) when
//    their storage is freed, and their block also when a view is garbage-collected without its
//    storage being freed (FinalizationRegistry). When the region is full, new arrays are ordinary
//    Float32Arrays again (kernels copy those in and out);
//  - [RESIDENT_LIMIT, 2 GiB): scratch — a call's temporaries (operand copies, packed panels,
//    padded outputs), a bump pointer that the next call's resetScratch takes back to the start.

import { allocArray } from '../cpu/storage.js';
import { wasmFeatures } from '../wasm/features.js';
import { Float32ArrayPool } from './array-pool.js';
import { matmulModuleBytes } from './matmul-wasm.js';
import type { MatmulExports } from './matmul-unit.js';
import { binaryModuleBytes, type BinaryExports } from './binary-wasm.js';
import { rowsModuleBytes, type RowExports } from './rows-wasm.js';
import { unaryModuleBytes, type UnaryExports } from './unary-wasm.js';
import { copyModuleBytes, type CopyExports } from './copy-wasm.js';

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
  /** Strided copies (main thread only). */
  copy: CopyExports;
  relaxed: boolean;
  shared: boolean;
  /** Int32 view of the control page. */
  ctrl: Int32Array;
}

let heap: WasmHeap | null | undefined;

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
  const copyModule = new WebAssembly.Module(copyModuleBytes({ shared, maximumPages: MAX_PAGES }));
  const copy = new WebAssembly.Instance(copyModule, { env: { memory } }).exports as unknown as CopyExports;
  heap = { memory, module, ex, rows, binary, unary, copy, relaxed: feat.relaxedSimd, shared, ctrl: new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4) };
  scratchBase = scratchTop = shared ? RESIDENT_LIMIT : CONTROL_BYTES;
  return heap;
}

// ---- the allocator ----

/** Bytes of memory that resident arrays may bring the heap to (scratch may go on to MAX_PAGES). */
export const RESIDENT_LIMIT = 2 ** 30;
/** Smallest float32 array kept resident (smaller ones stay ordinary arrays). */
export const RESIDENT_MIN_LENGTH = 256;

/** Top of the resident region [CONTROL_BYTES, RESIDENT_LIMIT). */
let residentTop = CONTROL_BYTES;
/** Free resident blocks (of views garbage-collected while handed out) by size in bytes: their addresses. */
const freeBlocks = new Map<number, number[]>();
/** Start of the scratch region: RESIDENT_LIMIT on a shared memory, else right after the control page (nothing is resident). */
let scratchBase = RESIDENT_LIMIT;
/** Top of the scratch region [scratchBase, MAX_PAGES · PAGE): a bump pointer that every kernel call resets. */
let scratchTop = RESIDENT_LIMIT;

/** Every ArrayBuffer object of the memory that views were made from (they change when it grows). */
const heapBuffers = new WeakSet<object>();

const blockSize = (bytes: number): number => Math.max(64, (bytes + 63) & ~63);

/** Make the memory at least `end` bytes long (pages past what is touched cost no physical memory). */
function ensure(h: WasmHeap, end: number): void {
  const have = h.memory.buffer.byteLength;
  if (end > have) h.memory.grow(Math.ceil((end - have) / PAGE));
}

/** A resident block of `size` bytes (a multiple of 64): a free one of that size, else from the top; -1 when the region is full. */
function takeResidentBlock(h: WasmHeap, size: number): number {
  const list = freeBlocks.get(size);
  if (list && list.length > 0) return list.pop()!;
  if (residentTop + size > RESIDENT_LIMIT) return -1;
  const at = residentTop;
  residentTop += size;
  ensure(h, residentTop);
  return at;
}

function giveBlock(at: number, size: number): void {
  let list = freeBlocks.get(size);
  if (!list) freeBlocks.set(size, (list = []));
  list.push(at);
}

/** Give up every scratch block of the previous call (a kernel starts with this). */
export function resetScratch(): void {
  scratchTop = scratchBase;
}

/** `bytes` of scratch, 64-byte aligned, growing the memory when needed; returns the byte address. */
export function allocScratch(h: WasmHeap, bytes: number): number {
  const at = scratchTop;
  scratchTop += blockSize(bytes);
  if (scratchTop > MAX_PAGES * PAGE) throw new Error(`cpu-fast: a call needs more than ${(MAX_PAGES * PAGE - scratchBase) / 2 ** 30} GiB of scratch`);
  ensure(h, scratchTop);
  return at;
}

/** A float32 view of the whole memory as it is now. */
export function f32View(h: WasmHeap): Float32Array {
  const buf = h.memory.buffer;
  heapBuffers.add(buf);
  return new Float32Array(buf);
}

/** Byte address of `a`'s first element when `a` lies in the wasm memory, else -1. */
export function heapAddr(a: Float32Array): number {
  return heapBuffers.has(a.buffer) ? a.byteOffset : -1;
}

/** Bytes from the start of the memory to the top of the resident blocks. */
export function heapTop(): number {
  return residentTop;
}

/** Held value of a resident block for the FinalizationRegistry: address and size in 64-byte units. */
const UNIT = 2 ** 25;

/**
 * The float32 recycler of the fast path: arrays of at least RESIDENT_MIN_LENGTH elements live in the
 * shared wasm memory while RESIDENT_LIMIT allows (else `fallback` recycles ordinary arrays). A
 * freed resident array is kept as a view by length and handed out again for that length.
 */
export class ResidentArrays {
  /** Views made here; each is registered once, so that a view garbage-collected while handed out gives its block back. */
  private readonly registry = new FinalizationRegistry<number>((held) => giveBlock(Math.floor(held / UNIT) * 64, (held % UNIT) * 64));
  private readonly ours = new WeakSet<Float32Array>();
  /** Freed views by length (they stay registered: a view here is reachable, so never finalized). */
  private readonly freeViews = new Map<number, Float32Array[]>();
  /** Resident arrays handed out and not given back (tests). */
  live = 0;

  constructor(
    private readonly h: WasmHeap | null,
    private readonly fallback: { take(length: number): Float32Array | null; give(a: Float32Array): void },
  ) {}

  /** A resident array of `length` elements with undefined contents, or null (not eligible, or the limit is reached). */
  takeUninit(length: number): Float32Array | null {
    const h = this.h;
    if (h === null || !h.shared || length < RESIDENT_MIN_LENGTH || !residentEnabled) return null;
    let a = this.freeViews.get(length)?.pop();
    if (!a) {
      const size = blockSize(4 * length);
      const at = takeResidentBlock(h, size);
      if (at < 0) return null;
      const buf = h.memory.buffer;
      heapBuffers.add(buf);
      a = new Float32Array(buf, at, length);
      this.registry.register(a, (at / 64) * UNIT + size / 64);
      this.ours.add(a);
    }
    this.live++;
    return a;
  }

  take(length: number): Float32Array | null {
    const a = this.takeUninit(length);
    if (a) return a.fill(0);
    return this.fallback.take(length);
  }

  give(a: Float32Array): void {
    if (heapAddr(a) < 0) {
      this.fallback.give(a);
      return;
    }
    if (!this.ours.has(a)) return; // a view made by a caller
    this.live--;
    let list = this.freeViews.get(a.length);
    if (!list) this.freeViews.set(a.length, (list = []));
    list.push(a);
  }
}

/** CAMELS_CPU_RESIDENT=0 keeps every float32 array an ordinary one (to measure what residency saves). */
let residentEnabled = process.env.CAMELS_CPU_RESIDENT !== '0';

/** Turn resident arrays on or off (tests); returns the previous setting. */
export function setResident(on: boolean): boolean {
  const prev = residentEnabled;
  residentEnabled = on;
  return prev;
}

/** Ordinary float32 arrays recycled by length (beside the resident ones, and where those are off). */
export const float32Pool = new Float32ArrayPool();
let recycler: ResidentArrays | undefined;

/** The process's float32 recycler (one wasm memory, so one for every fast backend instance). */
export function float32Recycler(): ResidentArrays {
  recycler ??= new ResidentArrays(wasmHeap(), float32Pool);
  return recycler;
}

// ---- kernel operands ----

/** Byte address of X[offset, offset + n) for a kernel: X itself when it is resident, else a scratch copy. */
export function stageIn(h: WasmHeap, X: Float32Array, offset = 0, n = X.length - offset): number {
  const at = heapAddr(X);
  if (at >= 0) return at + 4 * offset;
  const addr = allocScratch(h, 4 * n);
  f32View(h).set(offset === 0 && n === X.length ? X : X.subarray(offset, offset + n), addr >> 2);
  return addr;
}

/** A kernel's float32 output of n elements and the byte address it writes to. */
export interface KernelOut {
  out: Float32Array;
  addr: number;
}

/**
 * The output array of a kernel: resident (written in place, contents undefined until the kernel
 * runs) when it can be, else an ordinary zeroed array and a scratch block to copy from (finishOut).
 * The block holds at least n rounded up to a multiple of 16 floats, so kernels that write whole
 * f32x4 vectors may write up to 3 lanes past n.
 */
export function kernelOut(h: WasmHeap, n: number): KernelOut {
  const r = float32Recycler().takeUninit(n);
  if (r) return { out: r, addr: r.byteOffset };
  return { out: allocArray('float32', n) as Float32Array, addr: allocScratch(h, 4 * n) };
}

/** Copy a non-resident output in from its scratch block (a resident one is already in place). */
export function finishOut(h: WasmHeap, o: KernelOut): Float32Array {
  if (heapAddr(o.out) !== o.addr && o.out.length > 0) o.out.set(f32View(h).subarray(o.addr >> 2, (o.addr >> 2) + o.out.length));
  return o.out;
}
