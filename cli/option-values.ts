// Option values as the commands use them: text stays text; numbers are parsed strictly (decimal
// integers, finite decimals) and range-checked, with an error that names the command, the option
// and the value as typed. cac's declared defaults arrive as numbers and pass the same checks.

/** A mistake in how the command was called (printed as one line, exit code 1, no stack trace). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Opts = Record<string, unknown>;

const INT = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function shown(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** A text option: undefined when absent, else the string as typed. */
export function textOption(opts: Opts, key: string, flag: string, cmd: string): string | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v); // a declared default
  throw new UsageError(`${cmd}: ${flag} needs a value`);
}

/** An integer option ≥ `min`; `undefined` when absent and no default was declared. */
export function intOption(opts: Opts, key: string, flag: string, cmd: string, min: number): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && INT.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${cmd}: ${flag} must be an integer >= ${min}, got ${shown(v)}`);
  return n;
}

/** A finite number option (≥ `min` when given); `undefined` when absent and no default was declared. */
export function realOption(opts: Opts, key: string, flag: string, cmd: string, min?: number): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && REAL.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${cmd}: ${flag} must be a finite number, got ${shown(v)}`);
  if (min !== undefined && n < min) throw new UsageError(`${cmd}: ${flag} must be a number >= ${min}, got ${shown(v)}`);
  return n;
}
