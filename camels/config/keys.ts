// Configuration keys as data: each key's type, allowed range, default and one-line doc. A task's
// schema is a record of these; `ConfigOf<S>` is the typed object a schema resolves to, so nothing
// downstream parses strings. Every parse or range error names the key and the value.

export class ConfigError extends Error {
  constructor(message: string) {
    super(`config: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface KeySpec<T> {
  /** Shown in --help: the value type and range. */
  readonly type: string;
  readonly default: T;
  readonly doc: string;
  /** May differ between a run and its --resume (does not change what was computed so far). */
  readonly resumeSafe?: boolean;
  /** Turn a command-line string into a value (throws ConfigError naming the key). */
  parse(key: string, raw: string): T;
  /** Check a value already typed (defaults and programmatic configs). */
  check(key: string, v: T): void;
}

export type Schema = Record<string, KeySpec<unknown>>;
export type ConfigOf<S extends Schema> = { [K in keyof S]: S[K] extends KeySpec<infer T> ? T : never };

type Opts = { resumeSafe?: boolean };
const isNull = (raw: string) => raw === 'null' || raw === 'None' || raw === '~';

function parseNumber(key: string, raw: string): number {
  const s = raw.trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new ConfigError(`'${key}' expects a finite number, got '${raw}'`);
  return n;
}

/** A number key: parsed as a finite decimal, then checked by `check`. */
function numberKey(type: string, def: number, doc: string, o: Opts, check: (key: string, v: number) => void): KeySpec<number> {
  return {
    type,
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (key, raw) => {
      const n = parseNumber(key, raw);
      check(key, n);
      return n;
    },
    check,
  };
}

/** An integer ≥ min (and ≤ max); `sentinels` are extra allowed values with a meaning (e.g. -1 = all). */
export function int(def: number, doc: string, o: Opts & { min?: number; max?: number; sentinels?: number[] } = {}): KeySpec<number> {
  const range = `${o.min !== undefined ? `≥ ${o.min}` : ''}${o.max !== undefined ? ` ≤ ${o.max}` : ''}${o.sentinels?.length ? ` or ${o.sentinels.join(', ')}` : ''}`.trim();
  return numberKey(`int ${range}`.trim(), def, doc, o, (key, v) => {
    if (!Number.isInteger(v)) throw new ConfigError(`'${key}' must be an integer, got ${v}`);
    if (o.sentinels?.includes(v)) return;
    if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) throw new ConfigError(`'${key}' must be an integer ${range}, got ${v}`);
  });
}

/** A finite real number in a range; `positive` means > 0. */
export function real(def: number, doc: string, o: Opts & { min?: number; max?: number; positive?: boolean } = {}): KeySpec<number> {
  const parts = [o.positive ? '> 0' : '', o.min !== undefined ? `≥ ${o.min}` : '', o.max !== undefined ? `≤ ${o.max}` : ''].filter(Boolean);
  return numberKey(`number ${parts.join(' ')}`.trim(), def, doc, o, (key, v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`'${key}' must be a finite number, got ${String(v)}`);
    if ((o.positive && !(v > 0)) || (o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) throw new ConfigError(`'${key}' must be a number ${parts.join(' and ')}, got ${v}`);
  });
}

/** A learning rate: finite and > 0. */
export const rate = (def: number, doc: string, o: Opts = {}) => real(def, doc, { ...o, positive: true });
/** A probability or fraction in [0, 1]. */
export const prob = (def: number, doc: string, o: Opts = {}) => real(def, doc, { ...o, min: 0, max: 1 });

export function flag(def: boolean, doc: string, o: Opts = {}): KeySpec<boolean> {
  return {
    type: 'bool',
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (key, raw) => {
      if (/^(true|1|yes|on)$/i.test(raw.trim())) return true;
      if (/^(false|0|no|off)$/i.test(raw.trim())) return false;
      throw new ConfigError(`'${key}' expects true or false, got '${raw}'`);
    },
    check: (key, v) => {
      if (typeof v !== 'boolean') throw new ConfigError(`'${key}' must be true or false, got ${JSON.stringify(v)}`);
    },
  };
}

/** Free text (kept exactly as written, never turned into a number). */
export function text(def: string, doc: string, o: Opts = {}): KeySpec<string> {
  return {
    type: 'text',
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (_key, raw) => raw,
    check: (key, v) => {
      if (typeof v !== 'string') throw new ConfigError(`'${key}' must be text, got ${JSON.stringify(v)}`);
    },
  };
}

/** An optional path, model directory or name (null = not set). */
export function optText(doc: string, o: Opts & { type?: string } = {}): KeySpec<string | null> {
  return {
    type: o.type ?? 'path',
    default: null,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (_key, raw) => (isNull(raw) || raw === '' ? null : raw),
    check: (key, v) => {
      if (v !== null && typeof v !== 'string') throw new ConfigError(`'${key}' must be a path or null, got ${JSON.stringify(v)}`);
    },
  };
}

/** One of a fixed set of words (matched case-insensitively, stored in the listed spelling). */
export function oneOf<const C extends string>(def: C, choices: readonly C[], doc: string, o: Opts = {}): KeySpec<C> {
  const find = (s: string) => choices.find((c) => c.toLowerCase() === s.trim().toLowerCase());
  return {
    type: choices.join(' | '),
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (key, raw) => {
      const c = find(raw);
      if (c === undefined) throw new ConfigError(`'${key}' must be one of ${choices.join(', ')}, got '${raw}'`);
      return c;
    },
    check: (key, v) => {
      if (!choices.includes(v)) throw new ConfigError(`'${key}' must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    },
  };
}

/** One or more learning rates ('1e-4' or '1e-4,2.5e-5' or '[1e-4, 2.5e-5]'), each finite and > 0. */
export function rateList(def: number[], doc: string, o: Opts = {}): KeySpec<number[]> {
  const check = (key: string, v: number[]) => {
    if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`'${key}' needs at least one value`);
    for (const x of v) if (!Number.isFinite(x) || !(x > 0)) throw new ConfigError(`'${key}': every value must be a finite number > 0, got ${x}`);
    if (new Set(v).size !== v.length) throw new ConfigError(`'${key}': a value is listed twice (${v.join(', ')})`);
  };
  return {
    type: 'number > 0, or a comma-separated list',
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (key, raw) => {
      const parts = raw.replace(/^\s*\[|\]\s*$/g, '').split(',').map((s) => s.trim());
      if (parts.some((p) => p === '')) throw new ConfigError(`'${key}' expects numbers separated by commas, got '${raw}'`);
      const v = parts.map((p) => parseNumber(key, p));
      check(key, v);
      return v;
    },
    check,
  };
}

/** Text values listed in brackets or by commas ('[em]', 'em,ppl'). */
export function textList(def: string[], doc: string, o: Opts = {}): KeySpec<string[]> {
  return {
    type: 'list',
    default: def,
    doc,
    resumeSafe: o.resumeSafe,
    parse: (_key, raw) => raw.replace(/^\s*\[|\]\s*$/g, '').split(',').map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean),
    check: (key, v) => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(`'${key}' must be a list of words`);
    },
  };
}

/** Render a value as it would be typed on the command line. */
export function showValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
