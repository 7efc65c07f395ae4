// A torch.save checkpoint as a TensorSource (the interface the safetensors reader also offers), so
// loadPretrained's parameter mapping, the weight model loader and `convert` read .pt files like
// safetensors. The state dict is the file's top-level dict of tensors, or the dict under
// 'state_dict' (run.py's `{'state_dict': …}`) / 'model_state_dict' / 'model'; other nested dicts are
// flattened with dotted keys. Tensors are read one at a time, following storage offsets and strides;
// tensors sharing a storage (tied weights) each read their own view.

import { bf16ToF32, f16ToF32, type SafetensorsDtype, type TensorData, type TensorInfo, type TensorSource } from '../safetensors.js';
import { TorchTensorRef, TORCH_ELEMENT_SIZE, type TorchDtype } from './torch-globals.js';
import { openTorchFile, TorchCheckpointError, type TorchFile } from './torch-file.js';

const SAFETENSORS_CODE: Readonly<Record<TorchDtype, SafetensorsDtype>> = {
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** Largest tensor read (elements): a typed array's limit, well above any GPT-J weight (2.1e8). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Keys under which checkpoints commonly nest the state dict. */
const NESTING_KEYS = ['state_dict', 'model_state_dict', 'model'];

export interface TorchTensorInfo extends TensorInfo {
  torchDtype: TorchDtype;
  stride: readonly number[];
  storageOffset: number;
  /** The storage key; tensors with the same key share memory in PyTorch (tied weights). */
  storageKey: string;
}

function isTensorDict(v: unknown): v is Map<unknown, unknown> {
  return v instanceof Map && v.size > 0 && [...v.values()].some((x) => x instanceof TorchTensorRef);
}

/** Collect name → tensor from the unpickled object, choosing the state dict as described above. */
export function collectStateDict(root: unknown, file: string): Map<string, TorchTensorRef> {
  let dict: unknown = root;
  if (root instanceof Map && !isTensorDict(root)) {
    const nested = NESTING_KEYS.map((k) => root.get(k)).find(isTensorDict);
    if (nested) dict = nested;
  }
  const out = new Map<string, TorchTensorRef>();
  const open = new Set<Map<unknown, unknown>>(); // a pickle can make a dict contain itself
  const walk = (v: unknown, prefix: string): void => {
    if (v instanceof TorchTensorRef) out.set(prefix, v);
    else if (v instanceof Map) {
      if (open.has(v)) throw new TorchCheckpointError(file, prefix, 'the checkpoint\'s dicts contain themselves (a cycle)');
      open.add(v);
      for (const [k, x] of v) walk(x, prefix ? `${prefix}.${String(k)}` : String(k));
      open.delete(v);
    }
  };
  walk(dict, '');
  if (out.size === 0) throw new TorchCheckpointError(file, undefined, 'holds no tensors (expected a state dict, or a dict with one under \'state_dict\')');
  return out;
}

/** Row-major contiguous strides of a shape. */
function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Decode little-endian bytes of `dtype` into the typed array the TensorSource API hands back. */
function decode(bytes: Buffer, dtype: TorchDtype, n: number): TensorData['data'] {
  const copy = new Uint8Array(n * TORCH_ELEMENT_SIZE[dtype]);
  copy.set(bytes.subarray(0, copy.length));
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'float16': return f16ToF32(new Uint16Array(buf));
    case 'bfloat16': return bf16ToF32(new Uint16Array(buf));
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return Int32Array.from(new Int16Array(buf));
    case 'int8': return Int32Array.from(new Int8Array(buf));
    case 'uint8':
    case 'bool': return Int32Array.from(new Uint8Array(buf));
  }
}

function arrayDtype(dtype: TorchDtype): TensorData['dtype'] {
  return dtype === 'float64' ? 'float64' : dtype === 'int64' ? 'int64' : dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' ? 'float32' : 'int32';
}

export class TorchStateDict implements TensorSource {
  readonly metadata: Readonly<Record<string, string>>;
  private readonly tensors: Map<string, TorchTensorRef>;
  private closed = false;

  constructor(private readonly torch: TorchFile) {
    this.tensors = collectStateDict(torch.root, torch.file);
    this.metadata = { format: 'pt', torch_format: torch.format };
    for (const [key, t] of this.tensors) this.checkBounds(key, t);
  }

  get file(): string {
    return this.torch.file;
  }

  private checkBounds(key: string, t: TorchTensorRef): void {
    if (t.numel === 0) return;
    if (t.numel > MAX_ELEMENTS) throw new TorchCheckpointError(this.file, key, `shape ${JSON.stringify(t.shape)} has ${t.numel} elements, more than one tensor can hold here (${MAX_ELEMENTS})`);
    const last = t.storageOffset + t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i]!, 0);
    if (last >= t.storage.numel) throw new TorchCheckpointError(this.file, key, `view [offset ${t.storageOffset}, shape ${JSON.stringify(t.shape)}, stride ${JSON.stringify(t.stride)}] reaches element ${last} of a ${t.storage.numel}-element storage`);
  }

  private ref(key: string): TorchTensorRef {
    if (this.closed) throw new TorchCheckpointError(this.file, key, 'read after close()');
    const t = this.tensors.get(key);
    if (!t) throw new TorchCheckpointError(this.file, key, 'no such tensor');
    return t;
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  info(key: string): TorchTensorInfo {
    const t = this.ref(key);
    const es = TORCH_ELEMENT_SIZE[t.dtype];
    return {
      dtype: SAFETENSORS_CODE[t.dtype],
      torchDtype: t.dtype,
      shape: [...t.shape],
      stride: t.stride,
      storageOffset: t.storageOffset,
      storageKey: t.storage.key,
      // Bytes of the storage the view starts at and spans (strided views read by strides).
      byteOffsets: [t.storageOffset * es, (t.storageOffset + t.numel) * es],
      file: this.file,
    };
  }

  read(key: string): TensorData {
    const t = this.ref(key);
    const n = t.numel;
    const shape = [...t.shape];
    if (n === 0) return { dtype: arrayDtype(t.dtype), shape, data: decode(Buffer.alloc(0), t.dtype, 0) };
    const span = t.shape.reduce((acc, d, i) => acc + (d - 1) * t.stride[i]!, 0) + 1;
    const src = decode(this.torch.readStorageBytes(t.storage, t.storageOffset, span), t.dtype, span);
    const contiguous = contiguousStrides(t.shape).every((s, i) => s === t.stride[i] || t.shape[i] === 1);
    if (contiguous && span === n) return { dtype: arrayDtype(t.dtype), shape, data: src };
    // Gather a strided view into row-major order.
    const out = new (src.constructor as new (n: number) => typeof src)(n);
    const idx = new Array<number>(shape.length).fill(0);
    let at = 0;
    for (let i = 0; i < n; i++) {
      (out as unknown as number[])[i] = (src as unknown as number[])[at]!;
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d]!++;
        at += t.stride[d]!;
        if (idx[d]! < shape[d]!) break;
        at -= idx[d]! * t.stride[d]!;
        idx[d] = 0;
      }
    }
    return { dtype: arrayDtype(t.dtype), shape, data: out };
  }

  readAsFloat32(key: string): Float32Array {
    const { data } = this.read(key);
    return data instanceof Float32Array ? data : data instanceof BigInt64Array ? Float32Array.from(data, Number) : Float32Array.from(data);
  }

  readAsFloat64(key: string): Float64Array {
    const { data } = this.read(key);
    return data instanceof Float64Array ? data : data instanceof BigInt64Array ? Float64Array.from(data, Number) : Float64Array.from(data);
  }

  readAsInt32(key: string): Int32Array {
    const t = this.ref(key);
    const { data } = this.read(key);
    if (data instanceof Int32Array) return data;
    if (data instanceof BigInt64Array) {
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < -2147483648n || v > 2147483647n) throw new TorchCheckpointError(this.file, key, `value ${v} at flat index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
    throw new TorchCheckpointError(this.file, key, `${t.dtype} tensor cannot be read as int32`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.torch.close();
  }
}

/** Opens a torch.save checkpoint (zip or legacy) as a TensorSource of its state dict. */
export function openTorchCheckpoint(file: string): TorchStateDict {
  const f = openTorchFile(file);
  try {
    return new TorchStateDict(f);
  } catch (e) {
    f.close();
    throw e;
  }
}
