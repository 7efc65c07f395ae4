// A small WebAssembly module writer: function types, one imported (optionally shared) memory,
// exported functions with typed locals, and the instruction subset the cpu-fast kernels use
// (integer/float scalar ops, loads/stores, SIMD v128 ops, relaxed-SIMD madd, atomics-free).
//
// Usage: const m = new ModuleBuilder(); const f = m.func('name', ['i32', 'i32'], []);
// f.local('v128'); f.op.localGet(0) ...; f.end(); m.bytes(). Instructions append bytes to the
// function body; control structures (block/loop/if) are written by the caller with matching end().
// Encoding follows the WebAssembly core spec 2.0 (binary format) and the relaxed-SIMD proposal.

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit range). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [...uleb(b.length), ...b];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** SIMD opcodes (0xfd prefix) by name. */
const SIMD = {
  'v128.load': 0x00,
  'v128.load32_splat': 0x09,
  'v128.store': 0x0b,
  'f32x4.splat': 0x13,
  'f32x4.extract_lane': 0x1f,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
  'f32x4.max': 0xe9,
  'v128.const': 0x0c,
  'f32x4.lt': 0x43,
  'v128.andnot': 0x4f,
  'f32x4.nearest': 0x6a,
  'i32x4.shl': 0xab,
  'i32x4.add': 0xae,
  'f32x4.min': 0xe8,
  'i32x4.trunc_sat_f32x4_s': 0xf8,
  'i8x16.shuffle': 0x0d,
  'f64x2.splat': 0x14,
  'f32x4.neg': 0xe1,
  'f64x2.add': 0xf0,
  'f64x2.mul': 0xf2,
  'f32x4.demote_f64x2_zero': 0x5e,
  'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.abs': 0xe0,
  'f32x4.gt': 0x44,
  'f32x4.le': 0x45,
  'v128.and': 0x4e,
  'v128.or': 0x50,
  'v128.bitselect': 0x52,
  'f32x4.sqrt': 0xe3,
  'f64x2.sub': 0xf1,
  'f64x2.div': 0xf3,
  'i32x4.lt_s': 0x39,
  'i32x4.ge_s': 0x3f,
  'f32x4.ne': 0x42,
  'i32x4.mul': 0xb5,
  'i32x4.shr_u': 0xad,
  'v128.xor': 0x51,
  'v128.load64_splat': 0x0a,
  'v128.store64_lane': 0x5b,
  'f64x2.sqrt': 0xef,
  'f32x4.pmin': 0xea,
  'f32x4.pmax': 0xeb,
  'f32x4.relaxed_madd': 0x105,
} as const;

/** One function body under construction; every instruction method appends its encoding. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: ValType[],
    readonly results: ValType[],
  ) {}

  /** Declare a local of `type`; returns its index (after the parameters). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  private emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  // ---- control ----
  block(): this { return this.emit(0x02, 0x40); }
  loop(): this { return this.emit(0x03, 0x40); }
  if_(): this { return this.emit(0x04, 0x40); }
  else_(): this { return this.emit(0x05); }
  end(): this { return this.emit(0x0b); }
  br(depth: number): this { return this.emit(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.emit(0x0d, ...uleb(depth)); }
  call(funcIndex: number): this { return this.emit(0x10, ...uleb(funcIndex)); }
  drop(): this { return this.emit(0x1a); }
  return_(): this { return this.emit(0x0f); }

  // ---- variables ----
  get(i: number): this { return this.emit(0x20, ...uleb(i)); }
  set(i: number): this { return this.emit(0x21, ...uleb(i)); }
  tee(i: number): this { return this.emit(0x22, ...uleb(i)); }

  // ---- i32 ----
  i32(v: number): this { return this.emit(0x41, ...sleb(v | 0)); }
  i32Eqz(): this { return this.emit(0x45); }
  i32Eq(): this { return this.emit(0x46); }
  i32Ne(): this { return this.emit(0x47); }
  i32LtS(): this { return this.emit(0x48); }
  i32GtS(): this { return this.emit(0x4a); }
  i32LeS(): this { return this.emit(0x4c); }
  i32GeS(): this { return this.emit(0x4e); }
  i32Add(): this { return this.emit(0x6a); }
  i32Sub(): this { return this.emit(0x6b); }
  i32Mul(): this { return this.emit(0x6c); }
  i32And(): this { return this.emit(0x71); }
  i32Shl(): this { return this.emit(0x74); }
  i32ShrU(): this { return this.emit(0x76); }
  i32RemU(): this { return this.emit(0x70); }
  i32Select(): this { return this.emit(0x1b); }

  // ---- f32 ----
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.emit(0x43, ...b);
  }
  f32Load(offset = 0): this { return this.emit(0x2a, 0x02, ...uleb(offset)); }
  i32Load(offset = 0): this { return this.emit(0x28, 0x02, ...uleb(offset)); }
  f32Store(offset = 0): this { return this.emit(0x38, 0x02, ...uleb(offset)); }
  f64Load(offset = 0): this { return this.emit(0x2b, 0x03, ...uleb(offset)); }
  f64Store(offset = 0): this { return this.emit(0x39, 0x03, ...uleb(offset)); }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.emit(0x44, ...b);
  }
  f64Sub(): this { return this.emit(0xa1); }
  f64Div(): this { return this.emit(0xa3); }
  f64Sqrt(): this { return this.emit(0x9f); }
  f64Ne(): this { return this.emit(0x62); }
  f64ConvertI32S(): this { return this.emit(0xb7); }
  f32Eq(): this { return this.emit(0x5b); }
  f32Add(): this { return this.emit(0x92); }
  f32Mul(): this { return this.emit(0x94); }
  f32Sub(): this { return this.emit(0x93); }
  f32Neg(): this { return this.emit(0x8c); }
  f32DemoteF64(): this { return this.emit(0xb6); }
  f64PromoteF32(): this { return this.emit(0xbb); }
  f64Add(): this { return this.emit(0xa0); }
  f64Mul(): this { return this.emit(0xa2); }
  f32Div(): this { return this.emit(0x95); }
  f32Min(): this { return this.emit(0x96); }
  f32Max(): this { return this.emit(0x97); }

  // ---- v128 ----
  private simd(name: keyof typeof SIMD, ...imm: number[]): this {
    return this.emit(0xfd, ...uleb(SIMD[name]), ...imm);
  }
  /** v128.load with alignment hint 2^align bytes and a constant byte offset. */
  v128Load(offset = 0, align = 2): this { return this.simd('v128.load', align, ...uleb(offset)); }
  v128Store(offset = 0, align = 2): this { return this.simd('v128.store', align, ...uleb(offset)); }
  v128Load32Splat(offset = 0): this { return this.simd('v128.load32_splat', 2, ...uleb(offset)); }
  v128Zero(): this { return this.simd('v128.const', ...new Array(16).fill(0)); }
  f32x4Splat(): this { return this.simd('f32x4.splat'); }
  f32x4ExtractLane(lane: number): this { return this.simd('f32x4.extract_lane', lane); }
  f32x4Add(): this { return this.simd('f32x4.add'); }
  f32x4Sub(): this { return this.simd('f32x4.sub'); }
  f32x4Mul(): this { return this.simd('f32x4.mul'); }
  f32x4Max(): this { return this.simd('f32x4.max'); }
  f32x4Min(): this { return this.simd('f32x4.min'); }
  f32x4Div(): this { return this.simd('f32x4.div'); }
  f32x4Neg(): this { return this.simd('f32x4.neg'); }
  /** Bytes of the two v128 operands (0–15 the first, 16–31 the second) picked by `lanes`. */
  i8x16Shuffle(lanes: number[]): this { return this.simd('i8x16.shuffle', ...lanes); }
  f64x2Splat(): this { return this.simd('f64x2.splat'); }
  f64x2Add(): this { return this.simd('f64x2.add'); }
  f64x2Mul(): this { return this.simd('f64x2.mul'); }
  f32x4DemoteF64x2Zero(): this { return this.simd('f32x4.demote_f64x2_zero'); }
  f64x2PromoteLowF32x4(): this { return this.simd('f64x2.promote_low_f32x4'); }
  f32x4Lt(): this { return this.simd('f32x4.lt'); }
  f32x4Gt(): this { return this.simd('f32x4.gt'); }
  f32x4Ne(): this { return this.simd('f32x4.ne'); }
  f32x4Le(): this { return this.simd('f32x4.le'); }
  f32x4Abs(): this { return this.simd('f32x4.abs'); }
  /** b < a ? b : a per lane (one minps; a NaN in a propagates). */
  f32x4Pmin(): this { return this.simd('f32x4.pmin'); }
  /** a < b ? b : a per lane (one maxps; a NaN in a propagates). */
  f32x4Pmax(): this { return this.simd('f32x4.pmax'); }
  f32x4Sqrt(): this { return this.simd('f32x4.sqrt'); }
  v128And(): this { return this.simd('v128.and'); }
  v128Or(): this { return this.simd('v128.or'); }
  /** Lanes of a where the mask c has 1 bits, of b elsewhere. Stack: a b c → r. */
  v128Bitselect(): this { return this.simd('v128.bitselect'); }
  f64x2Sub(): this { return this.simd('f64x2.sub'); }
  f64x2Sqrt(): this { return this.simd('f64x2.sqrt'); }
  /** Load 8 bytes into both 64-bit lanes. */
  v128Load64Splat(offset = 0): this { return this.simd('v128.load64_splat', 3, ...uleb(offset)); }
  /** Store 64-bit lane `lane` (stack: address, v128). */
  v128Store64Lane(lane: number, offset = 0): this { return this.simd('v128.store64_lane', 3, ...uleb(offset), lane); }
  f64x2Div(): this { return this.simd('f64x2.div'); }
  f64x2ExtractLane(lane: number): this { return this.emit(0xfd, 0x21, lane); }
  f32x4Nearest(): this { return this.simd('f32x4.nearest'); }
  /** a & ~b. */
  v128AndNot(): this { return this.simd('v128.andnot'); }
  i32x4TruncSatF32x4S(): this { return this.simd('i32x4.trunc_sat_f32x4_s'); }
  i32x4Add(): this { return this.simd('i32x4.add'); }
  /** Shift each lane left by an i32 count (stack: v128 i32). */
  i32x4Shl(): this { return this.simd('i32x4.shl'); }
  i32x4Splat(): this { return this.emit(0xfd, 0x11); }
  i32x4LtS(): this { return this.simd('i32x4.lt_s'); }
  i32x4Mul(): this { return this.simd('i32x4.mul'); }
  /** Shift each lane right (logical) by an i32 count (stack: v128 i32). */
  i32x4ShrU(): this { return this.simd('i32x4.shr_u'); }
  v128Xor(): this { return this.simd('v128.xor'); }
  i32x4GeS(): this { return this.simd('i32x4.ge_s'); }
  /** v128.const of four i32 lanes. */
  v128ConstI32(lanes: [number, number, number, number]): this {
    const b = new Uint8Array(new Int32Array(lanes).buffer);
    return this.simd('v128.const', ...b);
  }
  /** a·b + c (relaxed SIMD; fused or not, at the engine's choice). Stack: a b c → r. */
  f32x4RelaxedMadd(): this { return this.simd('f32x4.relaxed_madd'); }

  /** The encoded body: locals (run-length by type) then code. */
  body(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const payload = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), VALTYPE[t]]), ...this.code, 0x0b];
    return [...uleb(payload.length), ...payload];
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initialPages: number;
  maximumPages: number;
  shared: boolean;
}

/** A module: one imported memory, functions in declaration order, all exported by name. */
export class ModuleBuilder {
  private readonly funcs: FuncBuilder[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Start a function; its index (for `call`) is the number of functions declared before it. */
  func(name: string, params: ValType[], results: ValType[] = []): FuncBuilder {
    const f = new FuncBuilder(name, params, results);
    this.funcs.push(f);
    return f;
  }

  indexOf(f: FuncBuilder): number {
    return this.funcs.indexOf(f);
  }

  bytes(): Uint8Array {
    const types = this.funcs.map((f) => [0x60, ...uleb(f.params.length), ...f.params.map((t) => VALTYPE[t]), ...uleb(f.results.length), ...f.results.map((t) => VALTYPE[t])]);
    const m = this.memory;
    const limits = m.shared ? [0x03, ...uleb(m.initialPages), ...uleb(m.maximumPages)] : [0x01, ...uleb(m.initialPages), ...uleb(m.maximumPages)];
    const out = [
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, [...uleb(types.length), ...types.flat()]),
      ...section(2, [...uleb(1), ...utf8(m.module), ...utf8(m.name), 0x02, ...limits]),
      ...section(3, [...uleb(this.funcs.length), ...this.funcs.flatMap((_, i) => uleb(i))]),
      ...section(7, [...uleb(this.funcs.length), ...this.funcs.flatMap((f, i) => [...utf8(f.name), 0x00, ...uleb(i)])]),
      ...section(10, [...uleb(this.funcs.length), ...this.funcs.flatMap((f) => f.body())]),
    ];
    return new Uint8Array(out);
  }
}
