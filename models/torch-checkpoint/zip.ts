// A read-only zip archive reader for torch.save's zip format (PKWARE APPNOTE): finds the end of
// central directory record (and its ZIP64 variant), lists the entries, and reads one entry's bytes
// at a time with positioned reads (stored entries; deflated ones through zlib). The archive is never
// read whole, so multi-gigabyte checkpoints cost only the tensor being read.

import fs from 'node:fs';
import zlib from 'node:zlib';

export class ZipError extends Error {
  constructor(file: string, detail: string) {
    super(`zip '${file}': ${detail}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** True when the file starts with a zip local-file-header signature ("PK\3\4"). */
export function looksLikeZip(fd: number): boolean {
  const b = Buffer.alloc(4);
  return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === LOCAL_SIG;
}

function readAt(fd: number, file: string, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, b, done, length - done, offset + done);
    if (n === 0) throw new ZipError(file, `truncated: wanted ${length} bytes at offset ${offset}`);
    done += n;
  }
  return b;
}

function big(v: bigint, file: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(file, `${what} ${v} is too large`);
  return Number(v);
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private dataOffsets = new Map<string, number>();

  constructor(readonly file: string, private readonly fd: number) {
    const size = fs.fstatSync(fd).size;
    if (size < 22) throw new ZipError(file, 'too small to be a zip archive');
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, file, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipError(file, 'no end-of-central-directory record (not a zip file, or truncated)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) throw new ZipError(file, 'ZIP64 end-of-central-directory locator missing');
      const z64At = big(tail.readBigUInt64LE(loc + 8), file, 'ZIP64 record offset');
      const z64 = readAt(fd, file, z64At, 56);
      if (z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new ZipError(file, 'bad ZIP64 end-of-central-directory record');
      count = big(z64.readBigUInt64LE(32), file, 'entry count');
      cdSize = big(z64.readBigUInt64LE(40), file, 'central directory size');
      cdOffset = big(z64.readBigUInt64LE(48), file, 'central directory offset');
    }
    if (cdOffset + cdSize > size) throw new ZipError(file, 'central directory lies past the end of the file (truncated?)');
    const cd = readAt(fd, file, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw new ZipError(file, `central directory entry ${i} is malformed`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      // ZIP64 extended information: the fields that overflowed, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (usize === 0xffffffff) { usize = big(cd.readBigUInt64LE(q), file, 'entry size'); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = big(cd.readBigUInt64LE(q), file, 'entry size'); q += 8; }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = big(cd.readBigUInt64LE(q), file, 'entry offset');
        }
        e += 4 + len;
      }
      if (flags & 1) throw new ZipError(file, `entry '${name}' is encrypted`);
      this.entries.set(name, { name, method, compressedSize, size: usize, localHeaderOffset });
      p = extraEnd + commentLen;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Offset of an entry's data (after its local header, whose extra field torch uses for alignment). */
  private dataOffset(entry: ZipEntry): number {
    const cached = this.dataOffsets.get(entry.name);
    if (cached !== undefined) return cached;
    const h = readAt(this.fd, this.file, entry.localHeaderOffset, 30);
    if (h.readUInt32LE(0) !== LOCAL_SIG) throw new ZipError(this.file, `entry '${entry.name}': bad local header`);
    const off = entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    this.dataOffsets.set(entry.name, off);
    return off;
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new ZipError(this.file, `no entry '${name}'`);
    return e;
  }

  /** Bytes [start, start + length) of an entry's uncompressed content. */
  read(name: string, start = 0, length?: number): Buffer {
    const e = this.entry(name);
    const len = length ?? e.size - start;
    if (start < 0 || len < 0 || start + len > e.size) throw new ZipError(this.file, `entry '${name}': range [${start}, ${start + len}) outside its ${e.size} bytes`);
    if (e.method === 0) return readAt(this.fd, this.file, this.dataOffset(e) + start, len);
    if (e.method === 8) {
      const raw = readAt(this.fd, this.file, this.dataOffset(e), e.compressedSize);
      const out = zlib.inflateRawSync(raw);
      if (out.length !== e.size) throw new ZipError(this.file, `entry '${name}': inflated to ${out.length} bytes, header says ${e.size}`);
      return out.subarray(start, start + len);
    }
    throw new ZipError(this.file, `entry '${name}': compression method ${e.method} is not supported`);
  }
}
