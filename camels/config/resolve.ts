// Resolving a task's configuration once: defaults from its schema, then --flags, then the
// reference's `key=value` overrides, each parsed and range-checked by its key spec. A resumed run
// starts from its own stored config, and only keys marked resume-safe may change. Also renders a
// schema as --help text.

import { ConfigError, showValue, type ConfigOf, type Schema } from './keys.js';
import type { ForeignKey } from './schemas.js';

export interface TaskSchema<S extends Schema> {
  /** The command name, for messages. */
  task: string;
  keys: S;
  foreign: Record<string, ForeignKey>;
  aliases: Record<string, string>;
}

export interface Resolved<S extends Schema> {
  cfg: ConfigOf<S>;
  /** One line per reference key that was accepted and ignored. */
  notices: string[];
}

/** The schema's defaults as a typed config. */
export function defaultsOf<S extends Schema>(keys: S): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(keys)) out[k] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  return out as ConfigOf<S>;
}

/** Check every value of a programmatic config against its schema (throws ConfigError naming the key). */
export function checkConfig<S extends Schema>(keys: S, cfg: ConfigOf<S>): ConfigOf<S> {
  for (const [k, spec] of Object.entries(keys)) spec.check(k, (cfg as Record<string, unknown>)[k]);
  return cfg;
}

function canonicalKey(t: TaskSchema<Schema>, rawKey: string): string {
  const k = rawKey.replace(/^\+{1,2}/, '');
  return t.aliases[k] ?? k.replace(/-/g, '_');
}

function unknownKey(t: TaskSchema<Schema>, rawKey: string): ConfigError {
  const key = canonicalKey(t, rawKey);
  const close = Object.keys(t.keys).filter((k) => k.includes(key) || key.includes(k) || editDistance(k, key) <= 2).slice(0, 5);
  return new ConfigError(`${t.task}: unknown key '${rawKey}'${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}; \`camels-gpu ${t.task} --help\` lists the keys`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** Flags the task commands take besides config keys (not part of a run's config). */
export const COMMAND_FLAGS = ['kernels', 'help', 'version'] as const as readonly string[];

/** Split `key=value` arguments (the value may contain '='); anything else is an error. */
export function splitOverrides(overrides: string[]): [string, string][] {
  return overrides.map((o) => {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new ConfigError(`expected key=value, got '${o}'`);
    return [o.slice(0, eq), o.slice(eq + 1)];
  });
}

/**
 * Apply `key=value` overrides (and the command's flags, camelCase or snake_case) to `base`. Foreign
 * reference keys are noticed or refused; unknown keys and bad values are errors naming the key.
 */
export function applyOverrides<S extends Schema>(t: TaskSchema<S>, base: ConfigOf<S>, overrides: string[], flags: Record<string, unknown> = {}, commandFlags: readonly string[] = COMMAND_FLAGS): Resolved<S> & { set: Set<string> } {
  const cfg = { ...(base as Record<string, unknown>) };
  const notices: string[] = [];
  const set = new Set<string>();
  const assign = (rawKey: string, raw: string, fromFlag: boolean) => {
    const key = canonicalKey(t as TaskSchema<Schema>, rawKey);
    const spec = t.keys[key];
    if (spec) {
      cfg[key] = spec.parse(key, raw);
      set.add(key);
      return;
    }
    const foreign = t.foreign[key];
    if (foreign) {
      if (foreign.accepts?.(raw)) notices.push(`${t.task}: '${key}=${raw}' is ignored: ${foreign.reason}`);
      else throw new ConfigError(`${t.task}: '${key}=${raw}' is not supported: ${foreign.reason}`);
      return;
    }
    if (!fromFlag || !commandFlags.includes(key)) throw unknownKey(t as TaskSchema<Schema>, fromFlag ? `--${rawKey}` : rawKey);
  };
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || k === '--' || k.length === 1 || /[A-Z]/.test(k)) continue; // cac gives each flag camelCase and as written
    assign(k, String(v), true);
  }
  for (const [k, v] of splitOverrides(overrides)) assign(k, v, false);
  return { cfg: cfg as ConfigOf<S>, notices, set };
}

/** Resolve a new run's configuration. */
export function resolveConfig<S extends Schema>(t: TaskSchema<S>, overrides: string[], flags: Record<string, unknown> = {}): Resolved<S> {
  const { cfg, notices } = applyOverrides(t, defaultsOf(t.keys), overrides, flags);
  return { cfg: checkConfig(t.keys, cfg), notices };
}

/**
 * The configuration of a resumed run: its stored config, with overrides allowed only on resume-safe
 * keys. Keys the stored config lacks (older versions) take their defaults.
 */
export function resolveResumeConfig<S extends Schema>(t: TaskSchema<S>, stored: Record<string, unknown>, runDir: string, overrides: string[], flags: Record<string, unknown> = {}): Resolved<S> {
  const base = defaultsOf(t.keys) as Record<string, unknown>;
  for (const k of Object.keys(t.keys)) if (k in stored) base[k] = stored[k];
  const storedCfg = checkConfig(t.keys, base as ConfigOf<S>);
  const { cfg, notices, set } = applyOverrides(t, storedCfg, overrides, flags);
  const differing = [...set].filter((k) => k !== 'resume' && !t.keys[k]!.resumeSafe && JSON.stringify((cfg as Record<string, unknown>)[k]) !== JSON.stringify((storedCfg as Record<string, unknown>)[k]));
  if (differing.length) {
    const lines = differing.map((k) => `${k}: run has ${showValue((storedCfg as Record<string, unknown>)[k])}, given ${showValue((cfg as Record<string, unknown>)[k])}`);
    const safe = Object.entries(t.keys).filter(([, s]) => s.resumeSafe).map(([k]) => k);
    throw new ConfigError(`${t.task} --resume ${runDir}: these keys differ from the run's config.json and cannot change on resume: ${lines.join('; ')} (keys that may change: ${safe.join(', ')})`);
  }
  (cfg as Record<string, unknown>).resume = runDir;
  return { cfg: checkConfig(t.keys, cfg), notices };
}

/** --help text: every key with its type, default and doc, then the ignored reference keys. */
export function schemaHelp(t: TaskSchema<Schema>): string {
  const rows = Object.entries(t.keys).map(([k, s]) => [`${k}=${showValue(s.default)}`, `${s.type}${s.resumeSafe ? ', may change on --resume' : ''}`, s.doc]);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const lines = rows.map(([a, b, c]) => `  ${a!.padEnd(w0)}  ${c} [${b}]`);
  const foreign = Object.entries(t.foreign).map(([k, f]) => `  ${k}: ${f.reason}`);
  return `Keys (key=value), default, meaning [type]:\n${lines.join('\n')}\n\nReference keys accepted for compatibility (ignored, or refused when they ask for something not implemented):\n${foreign.join('\n')}`;
}
