// Reading torch.save files without Python: the zip format (torch >= 1.6: <prefix>/data.pkl plus one
// entry <prefix>/data/<key> per storage) and the legacy format (magic, protocol and sys-info
// pickles, the object pickle, the pickled list of storage keys, then each storage as an int64
// element count followed by its raw bytes). The object pickle goes through the restricted
// unpickler with the torch allow-list, so a file that names any other Python global is refused.
//
// openTorchFile() returns the unpickled object tree (Maps, arrays, numbers, TorchTensorRef leaves)
// and a reader of storage bytes; tensors are read one at a time on request.

import fs from 'node:fs';
import os from 'node:os';
import { parseStoragePid, resolveTorchGlobal, TORCH_ELEMENT_SIZE, type StorageRef } from './torch-globals.js';
import { unpickle, UnpicklingError } from './unpickler.js';
import { looksLikeZip, ZipError, ZipReader } from './zip.js';

export class TorchCheckpointError extends Error {
  constructor(readonly file: string, readonly key: string | undefined, detail: string) {
    super(`torch checkpoint '${file}'${key !== undefined ? `, tensor '${key}'` : ''}: ${detail}`);
    this.name = 'TorchCheckpointError';
  }
}

/** The legacy format's first pickle: torch.serialization.MAGIC_NUMBER. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface TorchFile {
  readonly file: string;
  readonly format: 'zip' | 'legacy';
  /** The unpickled object (state dicts are Maps of name → TorchTensorRef). */
  readonly root: unknown;
  /** Bytes [start, start + length) of storage `key` (root storage for legacy views). */
  readStorageBytes(ref: StorageRef, startElement: number, elements: number): Buffer;
  close(): void;
}

function readWhole(fd: number, offset: number, length: number, file: string): Buffer {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, b, done, length - done, offset + done);
    if (n === 0) throw new TorchCheckpointError(file, undefined, `truncated: wanted ${length} bytes at offset ${offset}`);
    done += n;
  }
  return b;
}

function unpickleObjects(buf: Uint8Array, file: string, stream: string, start = 0, onStorage?: (s: StorageRef) => void) {
  return unpickle(buf, {
    where: `torch checkpoint '${file}' (${stream})`,
    resolveGlobal: resolveTorchGlobal,
    persistentLoad: onStorage
      ? (pid) => {
        const s = parseStoragePid(pid);
        onStorage(s);
        return s;
      }
      : undefined,
  }, start);
}

function openZip(file: string, fd: number): TorchFile {
  const zip = new ZipReader(file, fd);
  const pkls = zip.names().filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pkls.length === 0) {
    const hint = zip.names().some((n) => n.endsWith('constants.pkl') || n.includes('/code/')) ? ' (this looks like a TorchScript archive from torch.jit.save; save a state_dict with torch.save instead)' : '';
    throw new TorchCheckpointError(file, undefined, `zip archive without data.pkl; not a torch.save file${hint}`);
  }
  const pkl = pkls.sort((a, b) => a.length - b.length)[0]!;
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  if (zip.entries.has(`${prefix}byteorder`)) {
    const order = zip.read(`${prefix}byteorder`).toString('utf8').trim();
    if (order !== 'little') throw new TorchCheckpointError(file, undefined, `byte order '${order}' is not supported (only little-endian files)`);
  }
  const storages: StorageRef[] = [];
  const { value } = unpickleObjects(zip.read(pkl), file, pkl, 0, (s) => storages.push(s));
  for (const s of storages) {
    const name = `${prefix}data/${s.key}`;
    if (!zip.entries.has(name)) throw new TorchCheckpointError(file, undefined, `storage '${s.key}' is referenced but the archive has no entry '${name}'`);
    const have = zip.entry(name).size;
    const want = (s.viewOffset + s.numel) * TORCH_ELEMENT_SIZE[s.dtype];
    if (have < want) throw new TorchCheckpointError(file, undefined, `storage '${s.key}' has ${have} bytes, ${want} needed for ${s.numel} ${s.dtype} elements`);
  }
  return {
    file,
    format: 'zip',
    root: value,
    readStorageBytes(ref, startElement, elements) {
      const es = TORCH_ELEMENT_SIZE[ref.dtype];
      return zip.read(`${prefix}data/${ref.key}`, (ref.viewOffset + startElement) * es, elements * es);
    },
    close: () => fs.closeSync(fd),
  };
}

function openLegacy(file: string, fd: number): TorchFile {
  const size = fs.fstatSync(fd).size;
  // The pickles come first and are small; read a growing prefix until they all parse.
  let window = Math.min(size, 1 << 20);
  for (;;) {
    const head = readWhole(fd, 0, window, file);
    try {
      // Pickles of protocol >= 2 start with PROTO (0x80); torch.save never writes older ones.
      if (head[0] !== 0x80) throw new TorchCheckpointError(file, undefined, 'not a torch.save file (neither a zip archive nor a pickle stream)');
      const magic = unpickleObjects(head, file, 'magic number');
      if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) {
        throw new TorchCheckpointError(file, undefined, 'not a torch.save file (neither a zip archive nor the legacy format\'s magic number)');
      }
      const proto = unpickleObjects(head, file, 'protocol version', magic.end);
      if (proto.value !== LEGACY_PROTOCOL) throw new TorchCheckpointError(file, undefined, `legacy protocol version ${String(proto.value)} is not supported (expected ${LEGACY_PROTOCOL})`);
      const sysInfo = unpickleObjects(head, file, 'sys info', proto.end);
      const storages = new Map<string, StorageRef>();
      const main = unpickleObjects(head, file, 'objects', sysInfo.end, (s) => {
        const prev = storages.get(s.key);
        if (prev && (prev.dtype !== s.dtype || prev.rootNumel !== s.rootNumel)) throw new Error(`storage '${s.key}' is described twice with different dtype/size`);
        storages.set(s.key, s);
      });
      const keys = unpickleObjects(head, file, 'storage keys', main.end);
      if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw new TorchCheckpointError(file, undefined, 'the storage key list is malformed');
      // Walk the storage records: int64 element count, then the bytes.
      const records = new Map<string, number>(); // key -> byte offset of its data
      let at = keys.end;
      for (const key of keys.value as string[]) {
        const s = storages.get(key);
        if (!s) throw new TorchCheckpointError(file, undefined, `storage '${key}' is listed but no tensor uses it (cannot tell its element size)`);
        if (at + 8 > size) throw new TorchCheckpointError(file, undefined, `truncated before storage '${key}'`);
        const n = Number(readWhole(fd, at, 8, file).readBigInt64LE(0));
        if (n !== s.rootNumel) throw new TorchCheckpointError(file, undefined, `storage '${key}' holds ${n} elements, the pickle says ${s.rootNumel}`);
        records.set(key, at + 8);
        at += 8 + n * TORCH_ELEMENT_SIZE[s.dtype];
        if (at > size) throw new TorchCheckpointError(file, undefined, `truncated inside storage '${key}'`);
      }
      for (const key of storages.keys()) if (!records.has(key)) throw new TorchCheckpointError(file, undefined, `storage '${key}' is used but not stored`);
      return {
        file,
        format: 'legacy',
        root: main.value,
        readStorageBytes(ref, startElement, elements) {
          const es = TORCH_ELEMENT_SIZE[ref.dtype];
          return readWhole(fd, records.get(ref.key)! + (ref.viewOffset + startElement) * es, elements * es, file);
        },
        close: () => fs.closeSync(fd),
      };
    } catch (e) {
      // A pickle cut off by the window: read more, up to the whole file.
      if (e instanceof UnpicklingError && /truncated/.test(e.message) && window < size) {
        window = Math.min(size, window * 4);
        continue;
      }
      throw e;
    }
  }
}

/** Opens a torch.save file (zip or legacy); errors name the file and the problem. */
export function openTorchFile(file: string): TorchFile {
  if (os.endianness() !== 'LE') throw new TorchCheckpointError(file, undefined, 'reading torch files needs a little-endian host');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new TorchCheckpointError(file, undefined, `cannot open: ${(e as Error).message}`);
  }
  try {
    return looksLikeZip(fd) ? openZip(file, fd) : openLegacy(file, fd);
  } catch (e) {
    fs.closeSync(fd);
    if (e instanceof TorchCheckpointError || e instanceof UnpicklingError) throw e;
    if (e instanceof ZipError) throw new TorchCheckpointError(file, undefined, e.message);
    throw new TorchCheckpointError(file, undefined, (e as Error).message);
  }
}
