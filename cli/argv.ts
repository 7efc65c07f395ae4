// Raw option values for cac. cac (through mri) turns every option value that looks like a number
// into a number ("007" -> 7, "" -> 0, "1.50" -> 1.5) and reads `--x -1` as a missing value plus a
// flag `-1`. prepareArgv takes the value of each value-taking option out of argv verbatim (the next
// token, even one starting with a single '-', or the text after '='), leaves a placeholder for cac,
// and the caller puts the raw strings back into cac's parsed options. Numbers are then parsed, with
// validation, by cli/option-values.ts.

import type { CAC, Command } from 'cac';
import { UsageError } from './option-values.js';

/** What cac sees in place of a raw value (never a number to mri; replaced after parsing). */
const PLACEHOLDER = '\u0000';

export interface PreparedArgv {
  /** argv with `--name=<placeholder>` for every option value taken out. */
  argv: string[];
  /** camelCase option name -> the value exactly as typed. */
  raw: Map<string, string>;
}

/** cac's option-name camelCasing (`max-new-tokens` -> `maxNewTokens`). */
export function camelOption(name: string): string {
  return name.replaceAll(/([a-z])-([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase());
}

function optionKinds(cmds: Command[]): { values: Set<string>; booleans: Set<string> } {
  const values = new Set<string>();
  const booleans = new Set<string>();
  for (const c of cmds) for (const o of c.options) for (const n of o.names) (o.isBoolean ? booleans : values).add(n);
  return { values, booleans };
}

/** The command the arguments name: the first token that is neither an option nor an option's value. */
function findCommand(cli: CAC, tokens: string[]): Command | undefined {
  const { values } = optionKinds([cli.globalCommand, ...cli.commands]);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '--') return undefined;
    if (t.startsWith('--')) {
      if (!t.includes('=') && values.has(camelOption(t.slice(2)))) i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) continue;
    return cli.commands.find((c) => c.isMatched(t));
  }
  return undefined;
}

/**
 * Take the values of value-taking options out of `argv` (process.argv: node, script, args...).
 * A declared value option takes the next token as its value unless that token starts with '--'
 * (so `--length-penalty -1` and `--prompt -abc` work; a value starting with '--' needs
 * `--prompt=--x`). Unknown options of commands that allow them keep mri's rule (the next token is
 * the value unless it starts with '-'). An option given twice is an error.
 */
export function prepareArgv(cli: CAC, argv: string[]): PreparedArgv {
  const head = argv.slice(0, 2);
  const tokens = argv.slice(2);
  const command = findCommand(cli, tokens);
  const { values, booleans } = optionKinds(command ? [cli.globalCommand, command] : [cli.globalCommand]);
  const allowUnknown = Boolean(command?.config.allowUnknownOptions);
  const raw = new Map<string, string>();
  const out: string[] = [];
  const take = (name: string, value: string): void => {
    const key = camelOption(name);
    if (raw.has(key)) throw new UsageError(`option --${name} is given more than once`);
    raw.set(key, value);
    out.push(`--${name}=${PLACEHOLDER}`);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '--') {
      out.push(...tokens.slice(i));
      break;
    }
    if (!t.startsWith('--') || t.length === 2 || t.startsWith('--no-')) {
      out.push(t);
      continue;
    }
    const eq = t.indexOf('=');
    const name = eq >= 0 ? t.slice(2, eq) : t.slice(2);
    const key = camelOption(name);
    const declared = values.has(key);
    const unknown = !declared && !booleans.has(key) && allowUnknown;
    if (name.includes('.') || (!declared && !unknown)) {
      out.push(t); // booleans, dotted names, and unknown options cac will refuse
      continue;
    }
    const next = tokens[i + 1];
    if (eq >= 0) take(name, t.slice(eq + 1));
    else if (declared && next !== undefined && !next.startsWith('--')) {
      take(name, next);
      i++;
    } else if (unknown && next !== undefined && !next.startsWith('-')) {
      take(name, next);
      i++;
    } else out.push(t); // no value: cac reports "value is missing" (declared) or sets true (unknown)
  }
  return { argv: [...head, ...out], raw };
}

/** Parse `argv` with `cli`, keeping option values as typed, and run the matched command. */
export function parseAndRun(cli: CAC, argv: string[], beforeRun?: (options: Record<string, unknown>) => void): void {
  const { argv: prepared, raw } = prepareArgv(cli, argv);
  cli.parse(prepared, { run: false });
  for (const [key, value] of raw) cli.options[key] = value;
  beforeRun?.(cli.options);
  cli.runMatchedCommand();
}
