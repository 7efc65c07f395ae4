// cli/argv.ts and cli/option-values.ts without spawning: raw values survive cac, '-' values are
// taken by declared options, unknown options of permissive commands keep mri's rule, and the
// number parsers refuse what is not a decimal integer / finite number in range.

import { cac } from 'cac';
import { describe, expect, it } from 'vitest';
import { camelOption, parseAndRun, prepareArgv } from '../../cli/argv.js';
import { intOption, realOption, textOption, UsageError } from '../../cli/option-values.js';

function makeCli() {
  const seen: { args: unknown[] }[] = [];
  const cli = cac('t');
  cli
    .command('gen', 'g')
    .option('--prompt <text>', 'p')
    .option('--max-new-tokens <n>', 'n', { default: 32 })
    .option('--json', 'j')
    .action((opts) => seen.push({ args: [opts] }));
  cli
    .command('task [...overrides]', 't')
    .option('--resume <dir>', 'r')
    .allowUnknownOptions()
    .action((overrides, opts) => seen.push({ args: [overrides, opts] }));
  return { cli, seen };
}

const run = (args: string[]) => {
  const { cli, seen } = makeCli();
  parseAndRun(cli, ['node', 't', ...args]);
  return seen[0]!.args;
};

describe('prepareArgv / parseAndRun', () => {
  it('keeps option values as typed', () => {
    const [o] = run(['gen', '--prompt', '007', '--max-new-tokens', '08']) as [Record<string, unknown>];
    expect(o.prompt).toBe('007');
    expect(o.maxNewTokens).toBe('08');
    expect((run(['gen', '--prompt', '']) as [Record<string, unknown>])[0].prompt).toBe('');
    expect((run(['gen', '--prompt=1.50']) as [Record<string, unknown>])[0].prompt).toBe('1.50');
    expect((run(['gen', '--prompt=']) as [Record<string, unknown>])[0].prompt).toBe('');
    expect((run(['gen']) as [Record<string, unknown>])[0].maxNewTokens).toBe(32); // declared default
  });

  it('a declared option takes a value starting with one "-"', () => {
    const [o] = run(['gen', '--prompt', '-abc', '--max-new-tokens', '-1', '--json']) as [Record<string, unknown>];
    expect(o).toMatchObject({ prompt: '-abc', maxNewTokens: '-1', json: true });
    expect(Object.keys(o)).not.toContain('1');
    expect(Object.keys(o)).not.toContain('a');
  });

  it('a value starting with "--" is not taken; cac reports the missing value', () => {
    expect(() => run(['gen', '--prompt', '--json'])).toThrow('option `--prompt <text>` value is missing');
    expect(() => run(['gen', '--prompt'])).toThrow('option `--prompt <text>` value is missing');
  });

  it('an option given twice is an error', () => {
    expect(() => run(['gen', '--prompt', 'a', '--prompt=b'])).toThrow(new UsageError('option --prompt is given more than once'));
  });

  it('unknown options of a permissive command keep their text; positionals untouched', () => {
    const [ov, o] = run(['task', 'lr=-1', 'x=007', '--outputs', '007', '--resume', '-r1', '--flag']) as [string[], Record<string, unknown>];
    expect(ov).toEqual(['lr=-1', 'x=007']);
    expect(o).toMatchObject({ outputs: '007', resume: '-r1', flag: true });
  });

  it('arguments after -- are passed through', () => {
    const { cli } = makeCli();
    const p = prepareArgv(cli, ['node', 't', 'gen', '--', '--prompt', '7']);
    expect(p.argv).toEqual(['node', 't', 'gen', '--', '--prompt', '7']);
    expect(p.raw.size).toBe(0);
  });

  it('camelOption matches cac', () => {
    expect(camelOption('max-new-tokens')).toBe('maxNewTokens');
    expect(camelOption('json')).toBe('json');
  });
});

describe('option values', () => {
  it('intOption: decimal integers in range', () => {
    expect(intOption({ n: '12' }, 'n', '--n', 'c', 1)).toBe(12);
    expect(intOption({ n: '0' }, 'n', '--n', 'c', 0)).toBe(0);
    expect(intOption({ n: 5 }, 'n', '--n', 'c', 1)).toBe(5);
    expect(intOption({}, 'n', '--n', 'c', 1)).toBeUndefined();
    for (const bad of ['0', '-3', '1.0', '1e2', '0x10', ' 3', '', 'abc', '99999999999999999999']) {
      expect(() => intOption({ n: bad }, 'n', '--n', 'cmd', 1)).toThrow(`cmd: --n must be an integer >= 1, got '${bad}'`);
    }
    expect(() => intOption({ n: true }, 'n', '--n', 'cmd', 1)).toThrow('cmd: --n must be an integer >= 1, got true');
  });

  it('realOption: finite numbers, negative allowed unless a minimum is given', () => {
    expect(realOption({ x: '-1' }, 'x', '--x', 'c')).toBe(-1);
    expect(realOption({ x: '.5e1' }, 'x', '--x', 'c')).toBe(5);
    expect(realOption({ x: '+2.' }, 'x', '--x', 'c')).toBe(2);
    for (const bad of ['Infinity', '-Infinity', 'NaN', '1e999', '', '1,5', '0x1']) {
      expect(() => realOption({ x: bad }, 'x', '--x', 'c')).toThrow(`c: --x must be a finite number, got '${bad}'`);
    }
    expect(() => realOption({ x: '-0.1' }, 'x', '--x', 'c', 0)).toThrow("c: --x must be a number >= 0, got '-0.1'");
  });

  it('textOption: strings as typed; a bare flag has no value', () => {
    expect(textOption({ t: '007' }, 't', '--t', 'c')).toBe('007');
    expect(textOption({}, 't', '--t', 'c')).toBeUndefined();
    expect(() => textOption({ t: true }, 't', '--t', 'c')).toThrow('c: --t needs a value');
  });
});
