// Safetensors reader and writer on plain typed arrays (no dependency on the tensor engine).
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON header
// ({key: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}), then the
// data area; offsets are relative to the start of the data area. The reader validates the whole
// header before anything is allocated and reads ONE tensor at a time with fs.readSync at its
// offset (the file is never read whole). F32/F16/BF16 come back as Float32Array (exact
// conversion), F64 as Float64Array, I64 as BigInt64Array, I32 (and the small integer types) as
// Int32Array. openCheckpoint() exposes a single file or a sharded checkpoint
// (model.safetensors.index.json) behind the same interface. writeSafetensors() writes a file
// atomically (temp file in the same folder, then rename). Every failure is a SafetensorsError
// whose message names the file and, when one is involved, the tensor key.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeFsError } from '../engine/io/fs-errors.js';
import { readUtf8File, Utf8Error } from '../engine/io/utf8.js';

/** Error raised for any malformed, truncated or unsupported safetensors file or argument. */
export class SafetensorsError extends Error {
  readonly file: string;
  readonly key: string | undefined;
  constructor(file: string, key: string | undefined, detail: string) {
    super(`safetensors '${file}'${key !== undefined ? `, tensor '${key}'` : ''}: ${detail}`);
    this.name = 'SafetensorsError';
    this.file = file;
    this.key = key;
  }
}

/** Dtype codes of the safetensors spec and their element sizes in bytes. */
const DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16'
  | 'I32' | 'U32' | 'F32' | 'I64' | 'U64' | 'F64';

/** Dtype of the typed array handed back by read(). */
export type ArrayDtype = 'float32' | 'int32' | 'float64' | 'int64';
export type SafetensorsArray = Float32Array | Int32Array | Float64Array | BigInt64Array;

export interface TensorData {
  dtype: ArrayDtype;
  shape: number[];
  data: SafetensorsArray;
}

export interface TensorInfo {
  /** Dtype code as stored in the file (F32, BF16, I64, ...). */
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data area, as in the header. */
  byteOffsets: [number, number];
  /** The file holding the tensor (useful for sharded checkpoints). */
  file: string;
}

/** A readable set of tensors: one safetensors file or a sharded checkpoint. */
export interface TensorSource {
  readonly metadata: Readonly<Record<string, string>>;
  keys(): string[];
  has(key: string): boolean;
  info(key: string): TensorInfo;
  read(key: string): TensorData;
  readAsFloat32(key: string): Float32Array;
  readAsFloat64(key: string): Float64Array;
  /** I64/I32 (and small integer) tensors as Int32Array; errors if a value does not fit. */
  readAsInt32(key: string): Int32Array;
  /** Releases file descriptors; idempotent. Reads after close() throw. */
  close(): void;
}

export interface SafetensorsFile extends TensorSource {
  readonly path: string;
  /** Byte offset of the data area in the file (8 + header length). */
  readonly dataStart: number;
}

/** Headers larger than this are rejected as absurd before any allocation. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

// ---------------------------------------------------------------------------------------------
// Half-precision conversions (exact decoding; round-to-nearest-even encoding).

let f16Table: Uint32Array | null = null;

/** float32 bit pattern of the float16 bit pattern h (exact: subnormals, ±inf, NaN payloads). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal: value = mant * 2^-24; renormalise into a float32 normal number.
  let e = 1;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | ((e - 15 + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** float16 bit pattern nearest to the float32 bit pattern f (ties to even, overflow to inf). */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1) !== 0)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++; // may carry into inf: correct
  return sign | r;
}

/** bfloat16 bit pattern nearest to the float32 bit pattern f (ties to even; NaN stays NaN). */
export function f32BitsToBf16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff;
  return ((f >>> 0) + 0x7fff + ((f >>> 16) & 1)) >>> 16;
}

/** Decodes float16 values (as raw uint16) into float32. */
export function f16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  if (f16Table === null) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
    f16Table = t;
  }
  const table = f16Table;
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o[i] = table[src[i]!]!;
  return out;
}

/** Decodes bfloat16 values (as raw uint16) into float32 (exact: the top half of a float32). */
export function bf16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o[i] = (src[i]! << 16) >>> 0;
  return out;
}

/** Encodes float32 values as float16 bit patterns (round to nearest even). */
export function f32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

/** Encodes float32 values as bfloat16 bit patterns (round to nearest even). */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}

/** Converts int64 values to Int32Array, throwing if one does not fit in int32. */
export function int64ToInt32(src: BigInt64Array, what = 'int64 tensor'): Int32Array {
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw new RangeError(`${what}: value ${v} at flat index ${i} does not fit in int32`);
    }
    out[i] = Number(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Header parsing and validation.

interface Entry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
  numel: number;
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates one header entry against the data area size; returns it typed. */
function parseEntry(file: string, key: string, raw: unknown, dataSize: number): Entry {
  const fail = (detail: string): never => {
    throw new SafetensorsError(file, key, detail);
  };
  if (!isPlainObject(raw)) fail(`header entry must be an object, got ${describe(raw)}`);
  const obj = raw as Record<string, unknown>;
  const dtype = obj['dtype'];
  if (typeof dtype !== 'string') fail(`missing or non-string 'dtype' (got ${describe(dtype)})`);
  const itemSize = DTYPE_SIZE[dtype as string];
  if (itemSize === undefined || !Object.prototype.hasOwnProperty.call(DTYPE_SIZE, dtype as string)) {
    fail(`unknown dtype ${describe(dtype)}`);
  }
  const shape = obj['shape'];
  if (!Array.isArray(shape)) fail(`missing or non-array 'shape' (got ${describe(shape)})`);
  let numel = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`shape ${describe(shape)} has an invalid dimension ${describe(d)} (dims must be non-negative integers)`);
    }
    numel *= d as number;
    // Cap early: a shape larger than the data area cannot match its byte range anyway.
    if (numel > Number.MAX_SAFE_INTEGER / 8) fail(`shape ${describe(shape)} is absurdly large`);
  }
  const offs = obj['data_offsets'];
  if (!Array.isArray(offs) || offs.length !== 2) {
    fail(`missing or malformed 'data_offsets' (need [begin, end], got ${describe(offs)})`);
  }
  const [begin, end] = offs as unknown[];
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin)
    || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    fail(`invalid data_offsets ${describe(offs)} (need integers 0 <= begin <= end)`);
  }
  const b = begin as number;
  const e = end as number;
  if (e > dataSize) {
    fail(`data_offsets [${b}, ${e}] lie outside the data area of ${dataSize} bytes (file truncated or offsets corrupt)`);
  }
  const bytes = numel * (itemSize as number);
  if (bytes !== e - b) {
    fail(`shape ${describe(shape)} x ${dtype} (${itemSize} bytes) needs ${bytes} bytes but data_offsets [${b}, ${e}] span ${e - b}`);
  }
  for (const k of Object.keys(obj)) {
    if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') fail(`unexpected field '${k}' in header entry`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin: b, end: e, numel };
}

/** Rejects overlapping byte ranges (gaps are allowed). Empty tensors overlap nothing. */
function checkOverlaps(file: string, entries: Map<string, Entry>): void {
  const list = [...entries].filter(([, e]) => e.end > e.begin);
  list.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let prevKey = '';
  let prevEnd = -1;
  for (const [key, e] of list) {
    if (e.begin < prevEnd) {
      throw new SafetensorsError(file, key,
        `data_offsets [${e.begin}, ${e.end}] overlap tensor '${prevKey}' (which ends at ${prevEnd})`);
    }
    if (e.end > prevEnd) {
      prevEnd = e.end;
      prevKey = key;
    }
  }
}

function readExactly(fd: number, file: string, key: string | undefined, dst: Uint8Array, position: number): void {
  let done = 0;
  while (done < dst.length) {
    const n = fs.readSync(fd, dst, done, dst.length - done, position + done);
    if (n <= 0) {
      throw new SafetensorsError(file, key,
        `unexpected end of file at byte ${position + done} (needed ${dst.length} bytes from ${position})`);
    }
    done += n;
  }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conversions shared by the single-file and sharded readers.

function toFloat32(t: TensorData): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (v) => Number(v));
  return Float32Array.from(t.data);
}

function toFloat64(t: TensorData): Float64Array {
  if (t.data instanceof Float64Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float64Array.from(t.data, (v) => Number(v));
  return Float64Array.from(t.data);
}

function toInt32(file: string, key: string, t: TensorData): Int32Array {
  if (t.data instanceof Int32Array) return t.data;
  if (t.data instanceof BigInt64Array) {
    try {
      return int64ToInt32(t.data);
    } catch (err) {
      throw new SafetensorsError(file, key, (err as Error).message);
    }
  }
  throw new SafetensorsError(file, key, `cannot read a ${t.dtype} tensor as int32`);
}

// ---------------------------------------------------------------------------------------------
// Single file.

/**
 * Opens a safetensors file and validates its header (nothing of the data area is read).
 * The descriptor stays open until close().
 */
export function openSafetensors(file: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new SafetensorsError(file, undefined, `cannot open: ${(err as Error).message}`);
  }
  try {
    return new SingleFile(file, fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

class SingleFile implements SafetensorsFile {
  readonly path: string;
  readonly dataStart: number;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | null;
  private readonly entries: Map<string, Entry>;

  constructor(file: string, fd: number) {
    this.path = file;
    this.fd = fd;
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(file, undefined, `file is ${size} bytes, shorter than the 8-byte header length`);
    const lenBytes = new Uint8Array(8);
    readExactly(fd, file, undefined, lenBytes, 0);
    const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES)) {
      throw new SafetensorsError(file, undefined, `header length ${n} is absurd (limit ${MAX_HEADER_BYTES} bytes)`);
    }
    const headerLen = Number(n);
    if (8 + headerLen > size) {
      throw new SafetensorsError(file, undefined,
        `header length ${headerLen} runs past the end of the file (${size} bytes): truncated or corrupt`);
    }
    if (headerLen < 2) throw new SafetensorsError(file, undefined, `header length ${headerLen} is too small for a JSON object`);
    const headerBytes = new Uint8Array(headerLen);
    readExactly(fd, file, undefined, headerBytes, 8);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      throw new SafetensorsError(file, undefined, 'header is not valid UTF-8');
    }
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (err) {
      throw new SafetensorsError(file, undefined, `header is not valid JSON (${(err as Error).message})`);
    }
    if (!isPlainObject(header)) {
      throw new SafetensorsError(file, undefined, `header must be a JSON object, got ${describe(header)}`);
    }
    this.dataStart = 8 + headerLen;
    const dataSize = size - this.dataStart;
    const meta: Record<string, string> = {};
    const entries = new Map<string, Entry>();
    for (const [key, value] of Object.entries(header)) {
      if (key === '__metadata__') {
        if (!isPlainObject(value)) {
          throw new SafetensorsError(file, undefined, `__metadata__ must be an object of strings, got ${describe(value)}`);
        }
        for (const [mk, mv] of Object.entries(value)) {
          if (typeof mv !== 'string') {
            throw new SafetensorsError(file, undefined, `__metadata__ value for '${mk}' must be a string, got ${describe(mv)}`);
          }
          meta[mk] = mv;
        }
        continue;
      }
      entries.set(key, parseEntry(file, key, value, dataSize));
    }
    checkOverlaps(file, entries);
    this.metadata = Object.freeze(meta);
    this.entries = entries;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  private entry(key: string): Entry {
    const e = this.entries.get(key);
    if (e === undefined) throw new SafetensorsError(this.path, key, 'no such tensor in the file');
    return e;
  }

  info(key: string): TensorInfo {
    const e = this.entry(key);
    return { dtype: e.dtype, shape: [...e.shape], byteOffsets: [e.begin, e.end], file: this.path };
  }

  /** Reads the raw bytes of a tensor into `dst` (length end - begin). */
  private readBytes(key: string, e: Entry, dst: Uint8Array): void {
    if (this.fd === null) throw new SafetensorsError(this.path, key, 'file is closed');
    readExactly(this.fd, this.path, key, dst, this.dataStart + e.begin);
    if (!LITTLE_ENDIAN_HOST) swapBytes(dst, DTYPE_SIZE[e.dtype]!);
  }

  read(key: string): TensorData {
    const e = this.entry(key);
    const shape = [...e.shape];
    const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    switch (e.dtype) {
      case 'F32': {
        const data = new Float32Array(e.numel);
        this.readBytes(key, e, bytesOf(data));
        return { dtype: 'float32', shape, data };
      }
      case 'F16':
      case 'BF16': {
        const raw = new Uint16Array(e.numel);
        this.readBytes(key, e, bytesOf(raw));
        return { dtype: 'float32', shape, data: e.dtype === 'F16' ? f16ToF32(raw) : bf16ToF32(raw) };
      }
      case 'F64': {
        const data = new Float64Array(e.numel);
        this.readBytes(key, e, bytesOf(data));
        return { dtype: 'float64', shape, data };
      }
      case 'I64': {
        const data = new BigInt64Array(e.numel);
        this.readBytes(key, e, bytesOf(data));
        return { dtype: 'int64', shape, data };
      }
      case 'I32': {
        const data = new Int32Array(e.numel);
        this.readBytes(key, e, bytesOf(data));
        return { dtype: 'int32', shape, data };
      }
      case 'I16':
      case 'U16': {
        const raw = e.dtype === 'I16' ? new Int16Array(e.numel) : new Uint16Array(e.numel);
        this.readBytes(key, e, bytesOf(raw));
        return { dtype: 'int32', shape, data: Int32Array.from(raw) };
      }
      case 'I8':
      case 'U8':
      case 'BOOL': {
        const raw = e.dtype === 'I8' ? new Int8Array(e.numel) : new Uint8Array(e.numel);
        this.readBytes(key, e, bytesOf(raw));
        return { dtype: 'int32', shape, data: Int32Array.from(raw) };
      }
      default:
        throw new SafetensorsError(this.path, key, `reading dtype ${e.dtype} is not supported`);
    }
  }

  readAsFloat32(key: string): Float32Array {
    return toFloat32(this.read(key));
  }

  readAsFloat64(key: string): Float64Array {
    return toFloat64(this.read(key));
  }

  readAsInt32(key: string): Int32Array {
    return toInt32(this.path, key, this.read(key));
  }

  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      fs.closeSync(fd);
    }
  }
}

/** Opens a file, runs fn, and closes the file whatever happens. */
export function withSafetensors<T>(file: string, fn: (f: SafetensorsFile) => T): T {
  const f = openSafetensors(file);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoint directories (single file or sharded).

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

export interface Checkpoint extends TensorSource {
  readonly dir: string;
  /** The safetensors files backing this checkpoint. */
  readonly files: string[];
}

/**
 * Opens the weights of a checkpoint directory: model.safetensors if present, otherwise the shards
 * listed in model.safetensors.index.json (weight_map: tensor key -> shard file name). For a sharded
 * checkpoint, `metadata` is the index's "metadata" object with values converted to strings.
 */
export function openCheckpoint(dir: string): Checkpoint {
  const single = path.join(dir, SINGLE_FILE_NAME);
  if (fs.existsSync(single)) {
    const f = openSafetensors(single);
    return new ShardedCheckpoint(dir, single, [f], new Map(f.keys().map((k) => [k, f])), f.metadata);
  }
  const indexPath = path.join(dir, INDEX_FILE_NAME);
  if (!fs.existsSync(indexPath)) {
    throw new SafetensorsError(dir, undefined,
      `no ${SINGLE_FILE_NAME} or ${INDEX_FILE_NAME} in the directory (only safetensors checkpoints are supported)`);
  }
  let index: unknown;
  try {
    index = JSON.parse(readUtf8File(indexPath));
  } catch (err) {
    if (err instanceof Utf8Error) throw err;
    throw new SafetensorsError(indexPath, undefined, `cannot read index JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(index) || !isPlainObject(index['weight_map'])) {
    throw new SafetensorsError(indexPath, undefined, "index must be an object with a 'weight_map' object");
  }
  const weightMap = index['weight_map'] as Record<string, unknown>;
  const metaRaw = index['metadata'];
  const metadata: Record<string, string> = {};
  if (isPlainObject(metaRaw)) {
    for (const [k, v] of Object.entries(metaRaw)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  try {
    for (const [key, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string' || shard === '' || path.isAbsolute(shard)
        || shard.split(/[\\/]/).includes('..')) {
        throw new SafetensorsError(indexPath, key, `weight_map entry must be a relative shard file name, got ${describe(shard)}`);
      }
      let f = shards.get(shard);
      if (f === undefined) {
        f = openSafetensors(path.join(dir, shard));
        shards.set(shard, f);
      }
      if (!f.has(key)) throw new SafetensorsError(f.path, key, `listed in ${INDEX_FILE_NAME} but missing from the shard`);
      owner.set(key, f);
    }
  } catch (err) {
    for (const f of shards.values()) f.close();
    throw err;
  }
  return new ShardedCheckpoint(dir, indexPath, [...shards.values()], owner, metadata);
}

class ShardedCheckpoint implements Checkpoint {
  readonly dir: string;
  readonly files: string[];
  readonly metadata: Readonly<Record<string, string>>;
  private readonly source: string;
  private readonly shards: SafetensorsFile[];
  private readonly owner: Map<string, SafetensorsFile>;

  constructor(dir: string, source: string, shards: SafetensorsFile[], owner: Map<string, SafetensorsFile>,
    metadata: Readonly<Record<string, string>>) {
    this.dir = dir;
    this.source = source;
    this.shards = shards;
    this.owner = owner;
    this.files = shards.map((s) => s.path);
    this.metadata = Object.freeze({ ...metadata });
  }

  private shardOf(key: string): SafetensorsFile {
    const f = this.owner.get(key);
    if (f === undefined) throw new SafetensorsError(this.source, key, 'no such tensor in the checkpoint');
    return f;
  }

  keys(): string[] {
    return [...this.owner.keys()];
  }

  has(key: string): boolean {
    return this.owner.has(key);
  }

  info(key: string): TensorInfo {
    return this.shardOf(key).info(key);
  }

  read(key: string): TensorData {
    return this.shardOf(key).read(key);
  }

  readAsFloat32(key: string): Float32Array {
    return this.shardOf(key).readAsFloat32(key);
  }

  readAsFloat64(key: string): Float64Array {
    return this.shardOf(key).readAsFloat64(key);
  }

  readAsInt32(key: string): Int32Array {
    return this.shardOf(key).readAsInt32(key);
  }

  close(): void {
    for (const s of this.shards) s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writer.

/** Dtypes accepted by the writer; float16/bfloat16 take Float32Array data and round to nearest even;
 *  bool takes Int32Array data of 0/1 (written one byte each). */
export type WriteDtype = ArrayDtype | 'float16' | 'bfloat16' | 'bool';

export interface TensorToWrite {
  dtype: WriteDtype;
  shape: readonly number[];
  /** float32/float16/bfloat16: Float32Array; float64: Float64Array; int32: Int32Array;
   *  int64: BigInt64Array or Int32Array. */
  data: SafetensorsArray;
}

const WRITE_CODE: Record<WriteDtype, SafetensorsDtype> = {
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int32: 'I32', int64: 'I64', bool: 'BOOL',
};

/** Validates one tensor to write; returns its size in bytes in the file. */
function checkTensor(file: string, key: string, t: TensorToWrite): number {
  const fail = (detail: string): never => {
    throw new SafetensorsError(file, key, detail);
  };
  if (t === null || typeof t !== 'object') fail('tensor must be an object {dtype, shape, data}');
  if (typeof t.dtype !== 'string' || !Object.prototype.hasOwnProperty.call(WRITE_CODE, t.dtype)) {
    fail(`unsupported dtype ${describe(t.dtype)}`);
  }
  if (!Array.isArray(t.shape)) fail('shape must be an array');
  let numel = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`shape ${describe(t.shape)} has an invalid dimension ${describe(d)}`);
    numel *= d;
  }
  const d = t.data;
  const ok = t.dtype === 'float64' ? d instanceof Float64Array
    : t.dtype === 'int32' || t.dtype === 'bool' ? d instanceof Int32Array
      : t.dtype === 'int64' ? d instanceof BigInt64Array || d instanceof Int32Array
        : d instanceof Float32Array;
  if (!ok) {
    const want = t.dtype === 'float64' ? 'Float64Array' : t.dtype === 'int32' || t.dtype === 'bool' ? 'Int32Array'
      : t.dtype === 'int64' ? 'BigInt64Array or Int32Array' : 'Float32Array';
    fail(`${t.dtype} data must be a ${want}, got ${(d as object | null)?.constructor?.name ?? describe(d)}`);
  }
  if (d.length !== numel) fail(`data has ${d.length} elements but shape ${describe(t.shape)} needs ${numel}`);
  if (t.dtype === 'bool' && (d as Int32Array).some((v) => v !== 0 && v !== 1)) fail('bool data must be 0 or 1');
  return numel * DTYPE_SIZE[WRITE_CODE[t.dtype]]!;
}

/** Encodes one (validated) tensor's bytes in file order (little-endian). */
function encodeTensor(t: TensorToWrite): Uint8Array {
  const d = t.data;
  let view: ArrayBufferView;
  if (t.dtype === 'float16') view = f32ToF16(d as Float32Array);
  else if (t.dtype === 'bfloat16') view = f32ToBf16(d as Float32Array);
  else if (t.dtype === 'int64' && d instanceof Int32Array) view = BigInt64Array.from(d, (v) => BigInt(v));
  else if (t.dtype === 'bool') view = Uint8Array.from(d as Int32Array);
  else view = d;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (LITTLE_ENDIAN_HOST) return bytes;
  const copy = bytes.slice();
  swapBytes(copy, DTYPE_SIZE[WRITE_CODE[t.dtype]]!);
  return copy;
}

/**
 * Writes tensors (sorted by key, contiguous) and optional string metadata to `file`, atomically:
 * the bytes go to a temporary file in the same folder which is then renamed over `file`.
 */
export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>): void {
  const keys = Object.keys(tensors).sort();
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(file, undefined, `metadata value for '${k}' must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const key of keys) {
    if (key === '__metadata__') throw new SafetensorsError(file, key, 'tensor key is reserved');
    const t = tensors[key]!;
    const nbytes = checkTensor(file, key, t);
    const entry = { dtype: WRITE_CODE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + nbytes] };
    // Build the object by hand so integer-like keys keep their sorted position.
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(entry)}`);
    offset += nbytes;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.length % 8)) % 8;
  if (pad > 0) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length), 0);

  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx');
    const writeAll = (b: Uint8Array): void => {
      let done = 0;
      while (done < b.byteLength) done += fs.writeSync(fd!, b, done, b.byteLength - done);
    };
    writeAll(len);
    writeAll(header);
    for (const key of keys) writeAll(encodeTensor(tensors[key]!)); // one converted tensor at a time
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the cleanup fails for the same reason as the write (e.g. ENOTDIR): report the write
    }
    if (err instanceof SafetensorsError) throw err;
    throw new SafetensorsError(file, undefined, `write failed: ${describeFsError(err, file, 'write').message}`);
  }
}
