// Safetensors reader/writer: round trips of every dtype, exact f16/bf16 bit patterns, sharded
// checkpoints, every malformed-file case, and the golden fixtures' weight and expected files.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SafetensorsError, bf16ToF32, f16BitsToF32Bits, f16ToF32, f32BitsToBf16Bits, f32BitsToF16Bits, f32ToF16,
  int64ToInt32, openCheckpoint, openSafetensors, withSafetensors, writeSafetensors,
} from '../../models/safetensors.js';
import { readHfConfig } from '../../models/hf-config.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
let tmp = '';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Builds a raw safetensors file: header (object or literal string), data bytes, optional length override. */
function rawFile(name: string, header: unknown, data: Uint8Array = new Uint8Array(0),
  opts: { headerLen?: bigint; raw?: Uint8Array } = {}): string {
  const file = path.join(tmp, name);
  if (opts.raw !== undefined) {
    fs.writeFileSync(file, opts.raw);
    return file;
  }
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLen ?? BigInt(h.length), 0);
  fs.writeFileSync(file, Buffer.concat([len, h, data]));
  return file;
}

function u16bytes(values: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}

function f32Bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0]!;
}

function expectError(fn: () => unknown, file: string, key?: string, pattern?: RegExp): void {
  let caught: unknown = null;
  try {
    const r = fn() as { close?: () => void } | undefined;
    r?.close?.();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeInstanceOf(SafetensorsError);
  const msg = (caught as Error).message;
  expect(msg).toContain(file);
  if (key !== undefined) expect(msg).toContain(`'${key}'`);
  if (pattern !== undefined) expect(msg).toMatch(pattern);
}

describe('half-precision conversion', () => {
  it('decodes float16 bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0400, 2 ** -14],
      [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)], [0x0200, 2 ** -15],
      [0x3555, 0.333251953125], [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    const out = f16ToF32(Uint16Array.from(cases.map((c) => c[0])));
    cases.forEach(([, v], i) => expect(out[i]).toBe(v));
    expect(Object.is(f16ToF32(Uint16Array.of(0x8000))[0], -0)).toBe(true);
    expect(f16BitsToF32Bits(0x7e00)).toBe(0x7fc00000); // quiet NaN
    expect(f16BitsToF32Bits(0x7c01)).toBe(0x7f802000); // signalling NaN payload kept
    expect(f16BitsToF32Bits(0xfe00)).toBe(0xffc00000);
  });

  it('decodes all 65536 float16 values to their mathematical value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = f16ToF32(all);
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const want = e === 0x1f ? (m === 0 ? s * Infinity : NaN)
        : e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
      if (Number.isNaN(want)) {
        if (!Number.isNaN(out[h]!)) bad.push(h);
        continue;
      }
      if (!Object.is(out[h], want === 0 ? s * 0 : want)) bad.push(h);
      // Encoding back is the identity for every non-NaN pattern.
      if (f32BitsToF16Bits(f32Bits(out[h]!)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it('decodes bfloat16 bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x7f80, Infinity], [0xff80, -Infinity],
      [0x0001, 2 ** -133], [0x0080, 2 ** -126], [0x7f7f, 3.3895313892515355e38],
    ];
    const out = bf16ToF32(Uint16Array.from(cases.map((c) => c[0])));
    cases.forEach(([, v], i) => expect(out[i]).toBe(v));
    expect(Number.isNaN(bf16ToF32(Uint16Array.of(0x7fc0))[0])).toBe(true);
    expect(Object.is(bf16ToF32(Uint16Array.of(0x8000))[0], -0)).toBe(true);
  });

  it('encodes float32 to float16 and bfloat16 with round-to-nearest-even', () => {
    const f16 = (x: number): number => f32BitsToF16Bits(f32Bits(x));
    expect(f16(1)).toBe(0x3c00);
    expect(f16(65504)).toBe(0x7bff);
    expect(f16(65519)).toBe(0x7bff);
    expect(f16(65520)).toBe(0x7c00); // rounds to inf
    expect(f16(1e10)).toBe(0x7c00);
    expect(f16(-1e10)).toBe(0xfc00);
    expect(f16(2 ** -24)).toBe(0x0001);
    expect(f16(2 ** -25)).toBe(0x0000); // tie to even (zero)
    expect(f16(1.5 * 2 ** -24)).toBe(0x0002); // tie to even
    expect(f16(2 ** -26)).toBe(0x0000);
    expect(f16(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(f16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(f16(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(f16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f16(NaN) & 0x3ff).not.toBe(0);
    const bf = (x: number): number => f32BitsToBf16Bits(f32Bits(x));
    expect(bf(1)).toBe(0x3f80);
    expect(bf(1 + 2 ** -8)).toBe(0x3f80); // tie, even stays
    expect(bf(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, odd rounds up
    expect(bf(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(bf(Infinity)).toBe(0x7f80);
    expect(bf(3.4e38)).toBe(0x7f80); // overflow rounds to inf
    expect(bf(NaN) & 0x7f80).toBe(0x7f80);
    expect(bf(NaN) & 0x7f).not.toBe(0);
    expect(Array.from(f32ToF16(Float32Array.of(0.5, -0.25)))).toEqual([0x3800, 0xb400]);
  });

  it('int64ToInt32 converts in range and rejects out of range', () => {
    expect(Array.from(int64ToInt32(BigInt64Array.of(0n, -2147483648n, 2147483647n)))).toEqual([0, -2147483648, 2147483647]);
    expect(() => int64ToInt32(BigInt64Array.of(2147483648n))).toThrow(/does not fit in int32/);
    expect(() => int64ToInt32(BigInt64Array.of(-2147483649n))).toThrow(/does not fit in int32/);
  });
});

describe('writeSafetensors / openSafetensors round trip', () => {
  it('round-trips every dtype, scalars, empty tensors and metadata', () => {
    const file = path.join(tmp, 'roundtrip.safetensors');
    const f32 = Float32Array.of(1.5, -2.25, 3e-30, Infinity);
    const f64 = Float64Array.of(Math.PI, -1e300, 5e-324);
    const i32 = Int32Array.of(-2147483648, 0, 2147483647);
    const i64 = BigInt64Array.of(-(2n ** 63n), 0n, 2n ** 63n - 1n, 42n);
    const half = Float32Array.of(1, -2, 0.333251953125, 65504, 2 ** -24, -Infinity);
    const bhalf = Float32Array.of(1, -2, 3.140625, 2 ** -133);
    writeSafetensors(file, {
      'b.f32': { dtype: 'float32', shape: [2, 2], data: f32 },
      'a.f64': { dtype: 'float64', shape: [3], data: f64 },
      i32: { dtype: 'int32', shape: [3, 1], data: i32 },
      i64: { dtype: 'int64', shape: [2, 2], data: i64 },
      i64from32: { dtype: 'int64', shape: [3], data: Int32Array.of(-5, 7, 9) },
      f16: { dtype: 'float16', shape: [6], data: half },
      bf16: { dtype: 'bfloat16', shape: [2, 2], data: bhalf },
      scalar: { dtype: 'float32', shape: [], data: Float32Array.of(7) },
      empty: { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
      '10': { dtype: 'int32', shape: [1], data: Int32Array.of(10) },
      '9': { dtype: 'int32', shape: [1], data: Int32Array.of(9) },
    }, { format: 'pt', note: 'hello' });

    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const headerText = bytes.subarray(8, 8 + n).toString('utf8');
    expect(headerText.trimEnd().length).toBeLessThanOrEqual(n);
    expect(headerText.slice(headerText.trimEnd().length)).toMatch(/^ *$/);
    const header = JSON.parse(headerText) as Record<string, { data_offsets: [number, number] }>;
    const keyOrder = [...headerText.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(keyOrder).toEqual([...keyOrder].sort());
    // Contiguous data in key order.
    let pos = 0;
    for (const k of keyOrder) {
      expect(header[k!]!.data_offsets[0]).toBe(pos);
      pos = header[k!]!.data_offsets[1];
    }
    expect(bytes.length).toBe(8 + n + pos);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const st = openSafetensors(file);
    try {
      expect(st.metadata).toEqual({ format: 'pt', note: 'hello' });
      expect(st.keys().sort()).toEqual(['10', '9', 'a.f64', 'b.f32', 'bf16', 'empty', 'f16', 'i32', 'i64', 'i64from32', 'scalar']);
      expect(st.read('b.f32')).toEqual({ dtype: 'float32', shape: [2, 2], data: f32 });
      expect(st.read('a.f64')).toEqual({ dtype: 'float64', shape: [3], data: f64 });
      expect(st.read('i32')).toEqual({ dtype: 'int32', shape: [3, 1], data: i32 });
      expect(st.read('i64')).toEqual({ dtype: 'int64', shape: [2, 2], data: i64 });
      expect(st.read('i64from32').data).toEqual(BigInt64Array.of(-5n, 7n, 9n));
      expect(st.info('i64from32').dtype).toBe('I64');
      expect(st.readAsInt32('i64from32')).toEqual(Int32Array.of(-5, 7, 9));
      expect(() => st.readAsInt32('i64')).toThrow(SafetensorsError);
      expect(() => st.readAsInt32('i64')).toThrow(/'i64'.*does not fit in int32/);
      expect(st.info('f16')).toEqual({ dtype: 'F16', shape: [6], byteOffsets: header['f16']!.data_offsets, file });
      expect(st.read('f16')).toEqual({ dtype: 'float32', shape: [6], data: half });
      expect(st.info('bf16').dtype).toBe('BF16');
      expect(st.read('bf16')).toEqual({ dtype: 'float32', shape: [2, 2], data: bhalf });
      expect(st.read('scalar')).toEqual({ dtype: 'float32', shape: [], data: Float32Array.of(7) });
      expect(st.read('empty')).toEqual({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) });
      expect(st.readAsFloat64('b.f32')).toEqual(Float64Array.from(f32));
      expect(st.readAsFloat32('a.f64')).toEqual(Float32Array.from(f64));
      expect(st.readAsFloat64('i32')).toEqual(Float64Array.from(i32));
      expect(st.readAsFloat64('i64from32')).toEqual(Float64Array.of(-5, 7, 9));
      expect(st.readAsFloat32('f16')).toEqual(half);
      expect(st.read('10').data).toEqual(Int32Array.of(10));
      expectError(() => st.read('nope'), file, 'nope', /no such tensor/);
    } finally {
      st.close();
    }
    st.close(); // idempotent
    expectError(() => st.read('i32'), file, 'i32', /closed/);
  });

  it('rounds float32 to float16/bfloat16 on write', () => {
    const file = path.join(tmp, 'rounding.safetensors');
    writeSafetensors(file, {
      h: { dtype: 'float16', shape: [3], data: Float32Array.of(1 + 3 * 2 ** -11, 65520, 2 ** -25) },
      b: { dtype: 'bfloat16', shape: [2], data: Float32Array.of(1 + 3 * 2 ** -8, 1 + 2 ** -8) },
    });
    withSafetensors(file, (st) => {
      expect(Array.from(st.readAsFloat32('h'))).toEqual([1 + 2 ** -9, Infinity, 0]);
      expect(Array.from(st.readAsFloat32('b'))).toEqual([1 + 2 ** -6, 1]);
    });
  });

  it('reads small integer dtypes as int32 and raw F16/BF16 bytes', () => {
    const data = new Uint8Array([
      ...u16bytes([0x3c00, 0x0001, 0xfc00]), // F16 [0, 6)
      ...u16bytes([0x3f80, 0xc000]), // BF16 [6, 10)
      0xff, 0x01, // I8 [10, 12)
      0xff, 0x01, // U8 [12, 14)
      0x01, 0x00, // BOOL [14, 16)
      ...new Uint8Array(Int16Array.of(-3, 4).buffer), // I16 [16, 20)
    ]);
    const file = rawFile('small-ints.safetensors', {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      i8: { dtype: 'I8', shape: [2], data_offsets: [10, 12] },
      u8: { dtype: 'U8', shape: [2], data_offsets: [12, 14] },
      bool: { dtype: 'BOOL', shape: [2], data_offsets: [14, 16] },
      i16: { dtype: 'I16', shape: [2], data_offsets: [16, 20] },
    }, data);
    withSafetensors(file, (st) => {
      expect(Array.from(st.readAsFloat32('h'))).toEqual([1, 2 ** -24, -Infinity]);
      expect(Array.from(st.readAsFloat32('b'))).toEqual([1, -2]);
      expect(Array.from(st.readAsInt32('i8'))).toEqual([-1, 1]);
      expect(Array.from(st.readAsInt32('u8'))).toEqual([255, 1]);
      expect(Array.from(st.readAsInt32('bool'))).toEqual([1, 0]);
      expect(Array.from(st.readAsInt32('i16'))).toEqual([-3, 4]);
    });
  });

  it('accepts gaps between tensors and an unsorted header', () => {
    const data = new Uint8Array(24);
    new Float32Array(data.buffer, 0, 1)[0] = 2.5;
    new Float32Array(data.buffer, 16, 2).set([3, 4]);
    const file = rawFile('gaps.safetensors', {
      z: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
    }, data);
    withSafetensors(file, (st) => {
      expect(Array.from(st.readAsFloat32('a'))).toEqual([2.5]);
      expect(Array.from(st.readAsFloat32('z'))).toEqual([3, 4]);
      expect(st.read('e').shape).toEqual([0]);
    });
  });

  it('rejects invalid tensors on write and leaves no file behind', () => {
    const file = path.join(tmp, 'bad-write.safetensors');
    expectError(() => writeSafetensors(file, { x: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }), file, 'x', /needs 3/);
    expectError(() => writeSafetensors(file, { x: { dtype: 'float64', shape: [2], data: new Float32Array(2) } }), file, 'x', /Float64Array/);
    expectError(() => writeSafetensors(file, { x: { dtype: 'float32', shape: [-1], data: new Float32Array(0) } }), file, 'x', /invalid dimension/);
    expectError(() => writeSafetensors(file, { __metadata__: { dtype: 'float32', shape: [], data: new Float32Array(1) } }), file, '__metadata__');
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('malformed files are rejected with the file and tensor named', () => {
  const f4 = new Uint8Array(16);
  const cases: [string, () => string, string | undefined, RegExp][] = [
    ['empty file', () => rawFile('empty.st', null, undefined, { raw: new Uint8Array(0) }), undefined, /shorter than the 8-byte/],
    ['shorter than 8 bytes', () => rawFile('short.st', null, undefined, { raw: new Uint8Array(5) }), undefined, /shorter than the 8-byte/],
    ['header longer than the file', () => rawFile('trunc-header.st', '{"a":', undefined, { headerLen: 1000n }), undefined, /runs past the end/],
    ['absurd header length', () => rawFile('absurd.st', '{}', undefined, { headerLen: 2n ** 40n }), undefined, /absurd/],
    ['absurd header length (2^64-1)', () => rawFile('absurd2.st', '{}', undefined, { headerLen: 2n ** 64n - 1n }), undefined, /absurd/],
    ['header just over 100 MB', () => rawFile('absurd3.st', '{}', undefined, { headerLen: 100n * 1024n * 1024n + 1n }), undefined, /absurd/],
    ['invalid JSON', () => rawFile('badjson.st', '{"a": {"dtype": "F32",'), undefined, /not valid JSON/],
    ['invalid UTF-8 header', () => rawFile('badutf8.st', null, undefined, {
      raw: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]),
    }), undefined, /UTF-8/],
    ['header is an array', () => rawFile('array.st', '[1,2]'), undefined, /must be a JSON object/],
    ['header is null', () => rawFile('null.st', 'null '), undefined, /must be a JSON object/],
    ['header is a number', () => rawFile('number.st', '42'), undefined, /must be a JSON object/],
    ['metadata not an object', () => rawFile('meta1.st', { __metadata__: [1] }), undefined, /__metadata__/],
    ['metadata value not a string', () => rawFile('meta2.st', { __metadata__: { n: 3 } }), undefined, /__metadata__ value for 'n'/],
    ['entry not an object', () => rawFile('entry.st', { w: 5 }, f4), 'w', /must be an object/],
    ['missing dtype', () => rawFile('nodtype.st', { w: { shape: [4], data_offsets: [0, 16] } }, f4), 'w', /dtype/],
    ['unknown dtype', () => rawFile('dtype.st', { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, f4), 'w', /unknown dtype "F128"/],
    ['prototype-name dtype', () => rawFile('dtype2.st', { w: { dtype: 'constructor', shape: [1], data_offsets: [0, 16] } }, f4), 'w', /unknown dtype/],
    ['missing shape', () => rawFile('noshape.st', { w: { dtype: 'F32', data_offsets: [0, 16] } }, f4), 'w', /shape/],
    ['shape not an array', () => rawFile('shape-str.st', { w: { dtype: 'F32', shape: '4', data_offsets: [0, 16] } }, f4), 'w', /shape/],
    ['negative dimension', () => rawFile('negdim.st', { w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, f4), 'w', /invalid dimension -4/],
    ['non-integer dimension', () => rawFile('fracdim.st', { w: { dtype: 'F32', shape: [2.5, 2], data_offsets: [0, 16] } }, f4), 'w', /invalid dimension 2.5/],
    ['string dimension', () => rawFile('strdim.st', { w: { dtype: 'F32', shape: ['4'], data_offsets: [0, 16] } }, f4), 'w', /invalid dimension "4"/],
    ['absurd shape', () => rawFile('hugeshape.st', { w: { dtype: 'F32', shape: [1e9, 1e9, 1e9], data_offsets: [0, 16] } }, f4), 'w', /absurdly large|needs/],
    ['missing data_offsets', () => rawFile('nooffs.st', { w: { dtype: 'F32', shape: [4] } }, f4), 'w', /data_offsets/],
    ['data_offsets wrong length', () => rawFile('offs3.st', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 8, 16] } }, f4), 'w', /data_offsets/],
    ['data_offsets not integers', () => rawFile('offsfrac.st', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 15.5] } }, f4), 'w', /invalid data_offsets/],
    ['negative data_offsets', () => rawFile('offsneg.st', { w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, f4), 'w', /invalid data_offsets/],
    ['begin after end', () => rawFile('offsrev.st', { w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, f4), 'w', /invalid data_offsets/],
    ['offsets outside the data area', () => rawFile('outside.st', { w: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, f4), 'w', /outside the data area/],
    ['truncated data', () => rawFile('truncdata.st', { w: { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, f4), 'w', /outside the data area of 16 bytes/],
    ['shape/byte-size mismatch', () => rawFile('mismatch.st', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f4), 'w', /needs 12 bytes.*span 16/],
    ['dtype/byte-size mismatch', () => rawFile('mismatch2.st', { w: { dtype: 'F64', shape: [4], data_offsets: [0, 16] } }, f4), 'w', /needs 32 bytes/],
    ['unexpected entry field', () => rawFile('extra.st', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16], x: 1 } }, f4), 'w', /unexpected field 'x'/],
    ['overlapping tensors', () => rawFile('overlap.st', {
      a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    }, f4), 'b', /overlap tensor 'a'/],
    ['tensor inside another', () => rawFile('overlap2.st', {
      big: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      small: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    }, f4), 'small', /overlap tensor 'big'/],
    ['identical ranges', () => rawFile('overlap3.st', {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'I32', shape: [4], data_offsets: [0, 16] },
    }, f4), undefined, /overlap tensor/],
  ];

  for (const [name, make, key, pattern] of cases) {
    it(name, () => {
      const file = make();
      expectError(() => openSafetensors(file), file, key, pattern);
    });
  }

  it('a missing file', () => {
    const file = path.join(tmp, 'does-not-exist.safetensors');
    expectError(() => openSafetensors(file), file, undefined, /cannot open/);
  });

  it('a file truncated after opening is reported on read', () => {
    const file = path.join(tmp, 'shrinks.safetensors');
    writeSafetensors(file, { w: { dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
    const st = openSafetensors(file);
    try {
      fs.truncateSync(file, fs.statSync(file).size - 4);
      expectError(() => st.read('w'), file, 'w', /unexpected end of file/);
    } finally {
      st.close();
    }
  });
});

describe('openCheckpoint', () => {
  it('reads a sharded checkpoint through its index', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'sharded-'));
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), {
      'h.0.w': { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) },
      'h.0.b': { dtype: 'float64', shape: [1], data: Float64Array.of(3) },
    });
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), {
      'h.1.w': { dtype: 'bfloat16', shape: [2], data: Float32Array.of(4, 5) },
    });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({
      metadata: { total_size: 28 },
      weight_map: {
        'h.0.w': 'model-00001-of-00002.safetensors',
        'h.0.b': 'model-00001-of-00002.safetensors',
        'h.1.w': 'model-00002-of-00002.safetensors',
      },
    }));
    const ck = openCheckpoint(dir);
    try {
      expect(ck.keys().sort()).toEqual(['h.0.b', 'h.0.w', 'h.1.w']);
      expect(ck.files).toHaveLength(2);
      expect(ck.metadata).toEqual({ total_size: '28' });
      expect(ck.has('h.1.w')).toBe(true);
      expect(ck.info('h.1.w')).toMatchObject({ dtype: 'BF16', shape: [2], file: path.join(dir, 'model-00002-of-00002.safetensors') });
      expect(Array.from(ck.readAsFloat32('h.0.w'))).toEqual([1, 2]);
      expect(ck.read('h.0.b')).toEqual({ dtype: 'float64', shape: [1], data: Float64Array.of(3) });
      expect(Array.from(ck.readAsFloat64('h.1.w'))).toEqual([4, 5]);
      expectError(() => ck.read('missing'), 'model.safetensors.index.json', 'missing', /no such tensor/);
    } finally {
      ck.close();
    }
  });

  it('prefers model.safetensors', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'single-'));
    writeSafetensors(path.join(dir, 'model.safetensors'), { w: { dtype: 'int32', shape: [1], data: Int32Array.of(5) } }, { format: 'pt' });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), '{"weight_map": {"x": "nope.safetensors"}}');
    const ck = openCheckpoint(dir);
    try {
      expect(ck.keys()).toEqual(['w']);
      expect(ck.metadata).toEqual({ format: 'pt' });
      expect(Array.from(ck.readAsInt32('w'))).toEqual([5]);
    } finally {
      ck.close();
    }
  });

  it('rejects bad checkpoint directories', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expectError(() => openCheckpoint(empty), empty, undefined, /no model.safetensors or model.safetensors.index.json/);

    const badIndex = fs.mkdtempSync(path.join(tmp, 'badindex-'));
    const indexFile = path.join(badIndex, 'model.safetensors.index.json');
    fs.writeFileSync(indexFile, '{not json');
    expectError(() => openCheckpoint(badIndex), indexFile, undefined, /index JSON/);
    fs.writeFileSync(indexFile, '{"weight_map": []}');
    expectError(() => openCheckpoint(badIndex), indexFile, undefined, /weight_map/);
    fs.writeFileSync(indexFile, '{"weight_map": {"w": "../escape.safetensors"}}');
    expectError(() => openCheckpoint(badIndex), indexFile, 'w', /relative shard file name/);
    fs.writeFileSync(indexFile, '{"weight_map": {"w": 3}}');
    expectError(() => openCheckpoint(badIndex), indexFile, 'w', /relative shard file name/);
    fs.writeFileSync(indexFile, '{"weight_map": {"w": "gone.safetensors"}}');
    expectError(() => openCheckpoint(badIndex), path.join(badIndex, 'gone.safetensors'), undefined, /cannot open/);
    const shard = path.join(badIndex, 'shard.safetensors');
    writeSafetensors(shard, { other: { dtype: 'int32', shape: [1], data: Int32Array.of(1) } });
    fs.writeFileSync(indexFile, '{"weight_map": {"w": "shard.safetensors"}}');
    expectError(() => openCheckpoint(badIndex), shard, 'w', /missing from the shard/);
  });
});

describe('golden fixtures', () => {
  for (const name of ['tiny-gpt2', 'tiny-gpt-neo', 'tiny-gptj']) {
    it(`${name}: model.safetensors shapes match config.json`, () => {
      const dir = path.join(GOLDEN, name);
      const cfg = readHfConfig(dir);
      const ck = openCheckpoint(dir);
      try {
        expect(ck.metadata).toEqual({ format: 'pt' });
        const E = cfg.nEmbd;
        const shape = (k: string): number[] => ck.info(k).shape;
        expect(shape('transformer.wte.weight')).toEqual([cfg.vocabSize, E]);
        expect(shape('transformer.ln_f.weight')).toEqual([E]);
        const layers = new Set(ck.keys().filter((k) => k.startsWith('transformer.h.')).map((k) => k.split('.')[2]));
        expect(layers.size).toBe(cfg.nLayer);
        for (let l = 0; l < cfg.nLayer; l++) {
          const h = `transformer.h.${l}`;
          expect(shape(`${h}.ln_1.weight`)).toEqual([E]);
          if (cfg.modelType === 'gpt2') {
            expect(shape(`${h}.attn.c_attn.weight`)).toEqual([E, 3 * E]);
            expect(shape(`${h}.attn.c_proj.weight`)).toEqual([E, E]);
            expect(shape(`${h}.mlp.c_fc.weight`)).toEqual([E, cfg.nInner]);
            expect(shape(`${h}.mlp.c_proj.weight`)).toEqual([cfg.nInner, E]);
          } else if (cfg.modelType === 'gpt_neo') {
            for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) expect(shape(`${h}.attn.attention.${p}.weight`)).toEqual([E, E]);
            expect(shape(`${h}.mlp.c_fc.weight`)).toEqual([cfg.intermediateSize, E]);
            expect(shape(`${h}.mlp.c_proj.weight`)).toEqual([E, cfg.intermediateSize]);
          } else {
            for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) expect(shape(`${h}.attn.${p}.weight`)).toEqual([E, E]);
            expect(shape(`${h}.mlp.fc_in.weight`)).toEqual([cfg.nInner, E]);
            expect(shape(`${h}.mlp.fc_out.weight`)).toEqual([E, cfg.nInner]);
          }
        }
        if (cfg.modelType === 'gptj') {
          expect(shape('lm_head.weight')).toEqual([cfg.vocabSize, E]);
          expect(cfg.tieWordEmbeddings).toBe(false);
        } else {
          expect(shape('transformer.wpe.weight')).toEqual([cfg.nPositions, E]);
        }
        // Values agree with an independent parse of the raw bytes.
        const wte = ck.read('transformer.wte.weight');
        expect(wte.dtype).toBe('float32');
        const raw = fs.readFileSync(path.join(dir, 'model.safetensors'));
        const dataStart = 8 + Number(raw.readBigUInt64LE(0));
        const [b] = ck.info('transformer.wte.weight').byteOffsets;
        for (const i of [0, 1, 777, wte.data.length - 1]) {
          expect(wte.data[i]).toBe(raw.readFloatLE(dataStart + b + 4 * i));
        }
        for (const k of ck.keys()) expect(ck.readAsFloat32(k).every(Number.isFinite)).toBe(true);
      } finally {
        ck.close();
      }
    });

    it(`${name}: expected.safetensors float64 and int64 tensors`, () => {
      const dir = path.join(GOLDEN, name);
      const cfg = readHfConfig(dir);
      withSafetensors(path.join(dir, 'expected.safetensors'), (st) => {
        const ids = st.read('input_ids');
        expect(ids.dtype).toBe('int64');
        expect(st.info('input_ids').dtype).toBe('I64');
        const [B, T] = ids.shape as [number, number];
        const ids32 = st.readAsInt32('input_ids');
        expect(ids32.length).toBe(B * T);
        expect(ids32.every((v) => v >= 0 && v < cfg.vocabSize)).toBe(true);
        expect(st.info('attention_mask').shape).toEqual([B, T]);
        expect(st.readAsInt32('attention_mask').every((v) => v === 0 || v === 1)).toBe(true);
        const logits = st.read('logits');
        expect(logits.dtype).toBe('float64');
        expect(logits.data).toBeInstanceOf(Float64Array);
        expect(logits.shape).toEqual([B, T, cfg.vocabSize]);
        expect(logits.data.length).toBe(B * T * cfg.vocabSize);
        const loss = st.readAsFloat64('loss');
        expect(loss.length).toBe(1);
        expect(loss[0]).toBeGreaterThan(0);
        expect(Math.abs(loss[0]! - Math.log(cfg.vocabSize))).toBeLessThan(2);
        // Every gradient has the shape of its parameter.
        withSafetensors(path.join(dir, 'model.safetensors'), (model) => {
          for (const k of model.keys()) {
            expect(st.info(`grad.${k}`).shape).toEqual(model.info(k).shape);
            expect(st.info(`grad.${k}`).dtype).toBe('F64');
          }
        });
      });
    });
  }

  it('tiny-gpt2 weight_model.safetensors opens and matches its config', () => {
    const dir = path.join(GOLDEN, 'tiny-gpt2');
    const cfg = readHfConfig(path.join(dir, 'weight_model_config.json'));
    withSafetensors(path.join(dir, 'weight_model.safetensors'), (st) => {
      const keys = st.keys();
      expect(keys.some((k) => k.startsWith('gpt_base.'))).toBe(true);
      expect(keys.some((k) => k.startsWith('fc1.'))).toBe(true);
      const wte = keys.find((k) => k.endsWith('wte.weight'))!;
      expect(st.info(wte).shape).toEqual([cfg.vocabSize, cfg.nEmbd]);
    });
  });
});
