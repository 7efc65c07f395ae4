// A restricted unpickler: reads Python pickle streams (protocols 0–5) into plain JavaScript values
// without executing anything. Python's pickle runs arbitrary callables named by GLOBAL opcodes; this
// reader instead asks a caller-supplied allow-list (`resolveGlobal`) for each module.name it meets
// and refuses every other name at the opcode that mentions it, with an UnpicklingError naming the
// global. Persistent ids (how torch.save points at tensor storages) go to `persistentLoad`.
//
// Value mapping: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
// str → string, bytes → Uint8Array, list → array, tuple → PyTuple, dict → Map, and whatever the
// allow-listed callables return for REDUCE / NEWOBJ.

/** Error for malformed pickle data or anything outside what the allow-list permits. */
export class UnpicklingError extends Error {
  constructor(where: string, detail: string) {
    super(`${where}: ${detail}`);
    this.name = 'UnpicklingError';
  }
}

/** A Python tuple (kept apart from lists so callers can check argument shapes). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A callable the allow-list hands back for a global: REDUCE calls it with the argument tuple. */
export interface PyCallable {
  readonly pyName: string;
  call(args: readonly unknown[]): unknown;
  /** BUILD on an object this callable made (e.g. OrderedDict's `_metadata`); absent = refuse BUILD. */
  setState?(obj: unknown, state: unknown): void;
}

export interface UnpickleOptions {
  /** Name used in error messages (file and stream). */
  where: string;
  /** Returns the callable for module.name, or null to refuse it. */
  resolveGlobal(module: string, name: string): PyCallable | null;
  /** Resolves a persistent id; absent = persistent ids are an error. */
  persistentLoad?(pid: unknown): unknown;
}

const MARK = Symbol('mark');

/** Objects made by an allow-listed callable remember it, so BUILD can ask it how to set state. */
const makers = new WeakMap<object, PyCallable>();

/**
 * Unpickles one pickle stream starting at `start` in `buf`; returns the value and the offset just
 * past the STOP opcode (legacy torch files hold several pickles back to back).
 */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const where = opts.where;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail = (detail: string): never => {
    throw new UnpicklingError(where, `${detail} (at byte ${pos})`);
  };
  const need = (n: number): void => {
    if (pos + n > buf.length) fail(`truncated pickle: ${n} more byte(s) needed`);
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle: unterminated text line');
    const s = Buffer.from(buf.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('MARK expected but none set');
    const items = stack.splice(m!);
    return items;
  };
  const getMemo = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo key ${i} not defined`);
    return memo.get(i);
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const parseIntText = (s: string): number | bigint | boolean => {
    const t = s.trim().replace(/L$/, '');
    if (t === '00') return false;
    if (t === '01') return true;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal '${s}'`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const global = (module: string, name: string): PyCallable => {
    const c = opts.resolveGlobal(module, name);
    if (!c) fail(`refusing global '${module}.${name}': not a type a checkpoint of tensors needs (nothing was executed)`);
    return c!;
  };
  const callable = (f: unknown, op: string): PyCallable => {
    if (!f || typeof f !== 'object' || typeof (f as PyCallable).call !== 'function') fail(`${op} on a value that is not an allowed callable`);
    return f as PyCallable;
  };
  const construct = (c: PyCallable, args: readonly unknown[]): unknown => {
    let out: unknown;
    try {
      out = c.call(args);
    } catch (e) {
      if (e instanceof UnpicklingError) throw e;
      fail(`${c.pyName}: ${(e as Error).message}`);
    }
    if (out && typeof out === 'object') makers.set(out as object, c);
    return out;
  };
  const dictOf = (v: unknown, op: string): Map<unknown, unknown> => {
    if (!(v instanceof Map)) fail(`${op} on a value that is not a dict`);
    return v as Map<unknown, unknown>;
  };
  const listOf = (v: unknown, op: string): unknown[] => {
    if (!Array.isArray(v)) fail(`${op} on a value that is not a list`);
    return v as unknown[];
  };
  const hashable = (k: unknown): unknown => {
    if (k !== null && typeof k === 'object' && !(k instanceof PyTuple)) fail('unhashable dict key');
    return k;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: { // STOP
        const value = pop();
        if (stack.length !== 0 || marks.length !== 0) fail('values left on the stack at STOP');
        return { value, end: pos };
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // --- constants and numbers
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x49: stack.push(parseIntText(line())); break; // INT
      case 0x4c: stack.push(parseIntText(line())); break; // LONG
      case 0x8a: stack.push(longFromBytes(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(longFromBytes(bytes(n)));
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: { // FLOAT
        const s = line();
        const v = Number(s);
        if (Number.isNaN(v) && !/nan/i.test(s)) fail(`bad float literal '${s}'`);
        stack.push(v);
        break;
      }
      // --- strings and bytes
      case 0x58: stack.push(utf8(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(bytes(u64()))); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))); break; // UNICODE
      case 0x54: stack.push(Buffer.from(bytes(i32())).toString('latin1')); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x53: { // STRING (quoted repr)
        const s = line().trim();
        if (s.length < 2 || (s[0] !== "'" && s[0] !== '"') || s[s.length - 1] !== s[0]) fail(`bad STRING literal ${s}`);
        stack.push(s.slice(1, -1));
        break;
      }
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      // --- containers
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { // APPEND
        const v = pop();
        listOf(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        listOf(top(), 'APPENDS').push(...items);
        break;
      }
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        const d = new Map<unknown, unknown>();
        for (let i = 0; i < items.length; i += 2) d.set(hashable(items[i]), items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        dictOf(top(), 'SETITEM').set(hashable(k), v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = dictOf(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) d.set(hashable(items[i]), items[i + 1]);
        break;
      }
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on a value that is not a set');
        for (const it of items) (s as Set<unknown>).add(hashable(it));
        break;
      }
      case 0x91: stack.push(new Set(popMark().map(hashable))); break; // FROZENSET
      // --- memo
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(getMemo(Number(line()))); break; // GET
      case 0x68: stack.push(getMemo(u8())); break; // BINGET
      case 0x6a: stack.push(getMemo(u32())); break; // LONG_BINGET
      // --- globals and objects (the allow-list decides)
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const f = callable(pop(), 'REDUCE');
        if (!(args instanceof PyTuple)) fail(`REDUCE of ${f.pyName} without an argument tuple`);
        stack.push(construct(f, (args as PyTuple).items));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const f = callable(pop(), 'NEWOBJ');
        if (!(args instanceof PyTuple)) fail(`NEWOBJ of ${f.pyName} without an argument tuple`);
        stack.push(construct(f, (args as PyTuple).items));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const maker = obj && typeof obj === 'object' ? makers.get(obj as object) : undefined;
        if (!maker?.setState) fail(`BUILD (setting object state) on ${maker ? maker.pyName : 'a plain value'} is not allowed`);
        maker!.setState!(obj, state);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id found but this stream allows none');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        if (!opts.persistentLoad) fail('persistent id found but this stream allows none');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x92: // NEWOBJ_EX
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        fail(`opcode 0x${op.toString(16)} (class instantiation / extension registry) is not allowed`);
        break;
      default:
        fail(`unknown pickle opcode 0x${op.toString(16)}`);
    }
  }
}
