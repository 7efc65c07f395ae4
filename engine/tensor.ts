// The Tensor handle: shape, dtype, device storage, and the tape node that produced it.
//
// Tensors are always dense and row-major. Storage is reference counted so reshape can share it.
// `dispose()` releases the handle; using a disposed tensor is an error naming the op. `.data()`
// and `.toArray()` are the only readbacks.

import type { Backend, DType, DeviceName, Storage, TypedArray } from './backend.js';
import { trackInScope } from './scope.js';

/** A recorded operation: its inputs and a vjp written in engine ops. */
export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given the cotangent of the output, return one cotangent per input (null = no gradient). */
  readonly vjp: (g: Tensor) => (Tensor | null)[];
}

let nextId = 1;

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly backend: Backend;
  private _storage: Storage | null;
  /** True for leaves the user wants gradients for, and for results of ops on such tensors. */
  requiresGrad = false;
  /** The op that produced this tensor (null for leaves and for results computed without the tape). */
  node: TapeNode | null = null;
  /** Accumulated gradient from `backward()`. */
  grad: Tensor | null = null;
  /** Host copy of small int32 tensors made from host data (lets gather validate indices without readback). */
  hostInt: Int32Array | null = null;
  /** Optional name, shown in errors (parameters use their checkpoint key). */
  name: string | null = null;

  constructor(storage: Storage, shape: readonly number[], backend: Backend) {
    if (storage.size !== shapeSize(shape)) {
      throw new Error(`Tensor: storage of ${storage.size} elements does not match shape ${shapeStr(shape)}`);
    }
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = storage.dtype;
    this.backend = backend;
    trackInScope(this);
  }

  get device(): DeviceName {
    return this.backend.name;
  }
  get size(): number {
    return this._storage ? this._storage.size : shapeSize(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** The storage, or a clear error when the tensor was disposed. */
  storageFor(op: string): Storage {
    if (!this._storage) {
      throw new Error(`${op}: tensor${this.name ? ` '${this.name}'` : ''} #${this.id} of shape ${shapeStr(this.shape)} was used after dispose()`);
    }
    return this._storage;
  }

  /** A new handle on the same storage with another shape of the same size (no copy). */
  shareStorage(shape: readonly number[], op: string): Tensor {
    const s = this.storageFor(op);
    s.refs++;
    return new Tensor(s, shape, this.backend);
  }

  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = null;
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    s.refs--;
    if (s.refs === 0) this.backend.free(s);
  }

  /** Read the values back (the only way data leaves the device). */
  async data(): Promise<TypedArray> {
    return this.backend.read(this.storageFor('data'));
  }

  /** Nested JS arrays in the tensor's shape (a number for a scalar). */
  async toArray(): Promise<unknown> {
    const flat = Array.from(await this.data());
    if (this.shape.length === 0) return flat[0];
    const build = (dim: number, offset: number): unknown[] => {
      const n = this.shape[dim]!;
      if (dim === this.shape.length - 1) return flat.slice(offset, offset + n);
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** Single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, expected 1`);
    return (await this.data())[0]!;
  }

  toString(): string {
    return `Tensor(${shapeStr(this.shape)}, ${this.dtype}, ${this.device}${this.isDisposed ? ', disposed' : ''})`;
  }
}
