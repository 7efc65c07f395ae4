// FastCpuBackend: the cpu backend that `--device cpu` runs. It is the reference CpuBackend
// (engine/cpu) with float32 kernels replaced by fast ones — WebAssembly SIMD generated in
// TypeScript, threaded over shared memory — where the runtime has WebAssembly SIMD; float64,
// int32 and everything without a fast kernel run the reference loops. Storages are the
// reference's CpuStorage, so tensors move freely between the two. Freed float32 arrays are
// recycled (array-pool.ts).
//
// CAMELS_CPU_KERNELS=reference makes the cpu device the plain reference (see engine/device.ts).

import type { BinaryOp, MatmulSpec, Storage, UnaryOp, View } from '../backend.js';
import { CpuBackend } from '../cpu/index.js';
import { setFloat32Recycler } from '../cpu/storage.js';
import { Float32ArrayPool } from './array-pool.js';
import { binary, unary, where } from './elementwise.js';
import { fastMatmul } from './matmul.js';
import { wasmHeap, type WasmHeap } from './wasm-heap.js';

/** One pool for the process: storages of every cpu backend instance are CpuStorage. */
export const float32Pool = new Float32ArrayPool();

export class FastCpuBackend extends CpuBackend {
  override readonly adapterName: string;
  private readonly heap: WasmHeap | null;

  constructor() {
    super();
    this.heap = wasmHeap();
    setFloat32Recycler(float32Pool);
    this.adapterName = this.heap ? `cpu (wasm simd${this.heap.relaxed ? ' + relaxed madd' : ''}${this.heap.shared ? ', threads' : ''})` : 'cpu (no wasm simd: reference kernels)';
  }

  /** True when float32 kernels run on WebAssembly (false: this runtime lacks SIMD). */
  get accelerated(): boolean {
    return this.heap !== null;
  }

  override unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): Storage {
    if (x.dtype !== 'float32') return super.unary(op, x, p0, p1);
    return this.wrap(unary(op, x, p0, p1), x.dtype);
  }

  override binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    if (a.dtype !== 'float32') return super.binary(op, a, av, b, bv, outShape);
    return this.wrap(binary(op, a, av, b, bv, outShape), a.dtype);
  }

  override where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    if (a.dtype !== 'float32') return super.where(c, cv, a, av, b, bv, outShape);
    return this.wrap(where(c, cv, a, av, b, bv, outShape), a.dtype);
  }

  override matmul(a: Storage, b: Storage, spec: MatmulSpec): Storage {
    if (this.heap && a.dtype === 'float32' && b.dtype === 'float32') return this.wrap(fastMatmul(this.heap, a, b, spec), 'float32');
    return super.matmul(a, b, spec);
  }
}
