// The allow-list of Python globals a torch.save state dict may name, and the values they build:
// collections.OrderedDict (→ Map), torch.<Type>Storage classes (storage dtypes, only ever used as
// arguments of persistent ids), and the tensor rebuild functions of torch._utils (→ TorchTensorRef,
// a description of a view into a storage; no data is read here). Every other global is refused.

import { PyTuple, type PyCallable } from './unpickler.js';

export type TorchDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const TORCH_ELEMENT_SIZE: Readonly<Record<TorchDtype, number>> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** torch.<Name>Storage → element dtype. */
const STORAGE_CLASSES: Readonly<Record<string, TorchDtype>> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A storage class named in a persistent id: a value there, never called. */
export class StorageClass implements PyCallable {
  constructor(readonly pyName: string, readonly dtype: TorchDtype) {}
  call(): never {
    throw new Error(`constructing ${this.pyName} is not allowed`);
  }
}

/** One storage of the file: its key (zip entry data/<key>, or legacy record key), dtype and size. */
export interface StorageRef {
  key: string;
  dtype: TorchDtype;
  /** Elements in the storage (the view's, for a legacy view storage). */
  numel: number;
  /** Legacy view storages: element offset into the root storage `key` (0 otherwise). */
  viewOffset: number;
  /** Elements of the root storage `key` as stored in the file. */
  rootNumel: number;
}

/** A tensor as torch.save describes it: a strided view into a storage. */
export class TorchTensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
  get dtype(): TorchDtype {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

const intTuple = (v: unknown, what: string): number[] => {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative integers`);
  }
  return items as number[];
};

function rebuildTensor(args: readonly unknown[], fn: string): TorchTensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!isStorageRef(storage)) throw new Error(`${fn}: first argument is not a tensor storage`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`${fn}: bad storage offset`);
  const shape = intTuple(size, `${fn} size`);
  const strides = intTuple(stride, `${fn} stride`);
  if (shape.length !== strides.length) throw new Error(`${fn}: size has ${shape.length} dims, stride ${strides.length}`);
  return new TorchTensorRef(storage, offset, shape, strides, requiresGrad === true);
}

function isStorageRef(v: unknown): v is StorageRef {
  return !!v && typeof v === 'object' && typeof (v as StorageRef).key === 'string' && typeof (v as StorageRef).dtype === 'string' && typeof (v as StorageRef).numel === 'number';
}

const orderedDict: PyCallable = {
  pyName: 'collections.OrderedDict',
  call(args) {
    if (args.length === 0) return new Map();
    throw new Error('only OrderedDict() with no arguments is supported');
  },
  // state_dict() sets a `_metadata` attribute (module versions); it carries no tensors.
  setState(_obj, state) {
    if (!(state instanceof Map) && state !== null) throw new Error('OrderedDict state must be a dict');
  },
};

const callables: Readonly<Record<string, PyCallable>> = {
  'collections.OrderedDict': orderedDict,
  'torch._utils._rebuild_tensor_v2': { pyName: 'torch._utils._rebuild_tensor_v2', call: (a) => rebuildTensor(a, '_rebuild_tensor_v2') },
  'torch._utils._rebuild_tensor': { pyName: 'torch._utils._rebuild_tensor', call: (a) => rebuildTensor(a, '_rebuild_tensor') },
  // nn.Parameter(data, requires_grad, hooks[, state]): the data tensor is what a state dict needs.
  'torch._utils._rebuild_parameter': { pyName: 'torch._utils._rebuild_parameter', call: (a) => paramData(a) },
  'torch._utils._rebuild_parameter_with_state': { pyName: 'torch._utils._rebuild_parameter_with_state', call: (a) => paramData(a) },
};

function paramData(args: readonly unknown[]): TorchTensorRef {
  if (!(args[0] instanceof TorchTensorRef)) throw new Error('parameter data is not a tensor');
  return args[0];
}

/** The allow-list: module.name → what it builds, or null (refused). */
export function resolveTorchGlobal(module: string, name: string): PyCallable | null {
  if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_CLASSES, name)) return new StorageClass(`torch.${name}`, STORAGE_CLASSES[name]!);
  return callables[`${module}.${name}`] ?? null;
}

/**
 * Parses a persistent id ('storage', StorageClass, key, location, numel[, view_metadata]) into a
 * StorageRef. The zip format has five fields, the legacy format six (view_metadata = None or
 * (view_key, offset, view_size)).
 */
export function parseStoragePid(pid: unknown): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : null;
  if (!items || items[0] !== 'storage' || items.length < 5) throw new Error(`unsupported persistent id ${describe(pid)} (expected a ('storage', ...) tuple)`);
  const [, cls, key, , numel, view] = items;
  if (!(cls instanceof StorageClass)) throw new Error('persistent id names no storage class');
  if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`malformed storage persistent id for key ${String(key)}`);
  if (view !== undefined && view !== null) {
    const v = view instanceof PyTuple ? view.items : [];
    const [viewKey, offset, size] = v;
    if (typeof viewKey !== 'string' || typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || size < 0 || offset + size > numel) throw new Error(`malformed storage view metadata for key ${key}`);
    return { key, dtype: cls.dtype, numel: size, viewOffset: offset, rootNumel: numel };
  }
  return { key, dtype: cls.dtype, numel, viewOffset: 0, rootNumel: numel };
}

function describe(v: unknown): string {
  if (v instanceof PyTuple) return `(${v.items.map(describe).join(', ')})`;
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}
