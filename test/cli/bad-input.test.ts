// Bad input through the real CLI (dist/, built by `npm test` first): option values kept as typed and
// numbers validated, text files that are not UTF-8, filesystem errors that name cause and path, and
// models whose weights or outputs are not finite. Each case asserts the exact message and exit code,
// that no stack trace is printed, and runs under a time limit.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../models/tokenizer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'camels-gpu.mjs');
const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');
const LIMIT = 30_000; // per CLI call; every test below is bounded by a multiple of it

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: LIMIT, env: { ...process.env, CAMELS_QUIET: '1', ...env } });
  if (r.error) throw r.error; // a timeout (a hang) fails the test
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A failed call: exit code 1, one `camels-gpu: ` line on stderr, no stack trace. */
function expectUsageFailure(r: ReturnType<typeof cli>, message: string | RegExp): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err).not.toMatch(/\n\s+at /);
  const line = r.err.trim().split('\n').at(-1)!;
  if (typeof message === 'string') expect(line).toBe(`camels-gpu: ${message}`);
  else expect(line).toMatch(message);
}

function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `camels-bad-${prefix}-`));
}

/** A copy of the tiny GPT-2 fixture whose model.safetensors has `edit` applied to one float32 tensor. */
function patchedModel(tensor: string, edit: (data: Float32Array) => void): string {
  const dir = tmpDir('model');
  for (const f of fs.readdirSync(TINY)) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
  const file = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const info = header[tensor]!;
  expect(info.dtype).toBe('F32');
  const start = 8 + n + info.data_offsets[0];
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + 8 + n + info.data_offsets[1]));
  edit(data);
  Buffer.from(data.buffer).copy(buf, start);
  fs.writeFileSync(file, buf);
  return dir;
}

/** A copy of the fixture with byte 0xFF inserted into `name` right after the first `after`; returns dir, line, offset. */
function modelWithBadByte(name: string, after: string): { dir: string; line: number; offset: number } {
  const dir = tmpDir('utf8');
  for (const f of fs.readdirSync(TINY)) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
  const bytes = fs.readFileSync(path.join(dir, name));
  const offset = bytes.indexOf(Buffer.from(after, 'utf8')) + Buffer.byteLength(after);
  expect(offset).toBeGreaterThan(Buffer.byteLength(after));
  fs.writeFileSync(path.join(dir, name), Buffer.concat([bytes.subarray(0, offset), Buffer.from([0xff]), bytes.subarray(offset)]));
  const line = bytes.subarray(0, offset).toString('latin1').split('\n').length;
  return { dir, line, offset };
}

describe('option values are kept as typed', { timeout: 4 * LIMIT }, () => {
  const tok = loadTokenizer(TINY);

  it('generate --prompt "007" generates from "007"', () => {
    const r = cli(['generate', '--model', TINY, '--prompt', '007', '--max-new-tokens', '2', '--json', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { prompt: string; ids: number[] };
    expect(j.prompt).toBe('007');
    expect(j.ids.slice(0, tok.encode('007').length)).toEqual(tok.encode('007'));
    expect(tok.encode('007')).not.toEqual(tok.encode('7'));
  });

  it('generate --prompt "" is an empty prompt, not "0"', () => {
    expectUsageFailure(cli(['generate', '--model', TINY, '--prompt', '', '--device', 'cpu']), 'generate: the prompt encodes to no tokens');
    expectUsageFailure(cli(['generate', '--model', TINY, '--prompt=', '--device', 'cpu']), 'generate: the prompt encodes to no tokens');
  });

  it('score --text "1.50" scores "1.50"', () => {
    const r = cli(['score', '--model', TINY, '--text', '1.50', '--json', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { ids: number[] }).ids).toEqual(tok.encode('1.50'));
    expect(tok.encode('1.50')).not.toEqual(tok.encode('1.5'));
  });

  it('values starting with "-": --prompt -abc, --prompt=-abc, --length-penalty -1', () => {
    for (const args of [['--prompt', '-abc'], ['--prompt=-abc'], ['--prompt', '-1']]) {
      const r = cli(['generate', '--model', TINY, ...args, '--max-new-tokens', '1', '--json', '--device', 'cpu']);
      expect(r.code, r.err).toBe(0);
      const want = args.length === 2 ? args[1]! : args[0]!.slice('--prompt='.length);
      expect((JSON.parse(r.out) as { prompt: string }).prompt).toBe(want);
    }
    const lp = cli(['generate', '--model', TINY, '--prompt', 'The', '--num-beams', '2', '--length-penalty', '-1', '--max-new-tokens', '2', '--json', '--device', 'cpu']);
    expect(lp.code, lp.err).toBe(0);
    const j = JSON.parse(lp.out) as { newIds: number[]; score: number };
    expect(j.newIds.length).toBeGreaterThan(0);
    expect(Number.isFinite(j.score)).toBe(true);
  });
});

describe('numeric options are validated', { timeout: 20 * LIMIT }, () => {
  const gen = (...opts: string[]) => cli(['generate', '--model', TINY, '--prompt', 'hi', ...opts, '--device', 'cpu']);
  const cases: [string[], string][] = [
    [['--max-new-tokens', '-1'], "generate: --max-new-tokens must be an integer >= 1, got '-1'"],
    [['--max-new-tokens', '0'], "generate: --max-new-tokens must be an integer >= 1, got '0'"],
    [['--max-new-tokens', '1.5'], "generate: --max-new-tokens must be an integer >= 1, got '1.5'"],
    [['--max-new-tokens', '0x10'], "generate: --max-new-tokens must be an integer >= 1, got '0x10'"],
    [['--max-new-tokens='], "generate: --max-new-tokens must be an integer >= 1, got ''"],
    [['--num-beams', 'two'], "generate: --num-beams must be an integer >= 1, got 'two'"],
    [['--num-beam-groups', '-2'], "generate: --num-beam-groups must be an integer >= 1, got '-2'"],
    [['--diversity-penalty', '-0.5'], "generate: --diversity-penalty must be a number >= 0, got '-0.5'"],
    [['--length-penalty', 'Infinity'], "generate: --length-penalty must be a finite number, got 'Infinity'"],
    [['--length-penalty', '1e999'], "generate: --length-penalty must be a finite number, got '1e999'"],
    [['--length-penalty', 'nan'], "generate: --length-penalty must be a finite number, got 'nan'"],
  ];
  for (const [opts, message] of cases) it(`generate ${opts.join(' ')}`, () => expectUsageFailure(gen(...opts), message));

  const bench: [string[], string][] = [
    [['model', '--repeat', '0'], "bench: --repeat must be an integer >= 1, got '0'"],
    [['model', '--warmup', '-1'], "bench: --warmup must be an integer >= 0, got '-1'"],
    [['model', '--batch', '0'], "bench: --batch must be an integer >= 1, got '0'"],
    [['model', '--seq', '16x'], "bench: --seq must be an integer >= 1, got '16x'"],
    [['kernels', '--size', '-64'], "bench: --size must be an integer >= 1, got '-64'"],
  ];
  for (const [opts, message] of bench) it(`bench ${opts.join(' ')}`, () => expectUsageFailure(cli(['bench', ...opts, '--device', 'cpu']), message));

  it('a missing value, a repeated option and an unknown option are one-line errors', () => {
    expectUsageFailure(gen('--prompt', 'again'), 'option --prompt is given more than once');
    expectUsageFailure(cli(['generate', '--model', TINY, '--prompt']), 'option `--prompt <text>` value is missing');
    expectUsageFailure(cli(['generate', '--model', TINY, '--prompt', '--json']), 'option `--prompt <text>` value is missing');
    expectUsageFailure(cli(['generate', '--model', TINY, '--prompt', 'a', '--max-new-tokens']), 'option `--max-new-tokens <n>` value is missing');
    expectUsageFailure(gen('--bogus', '3'), 'Unknown option `--bogus`');
  });
});

describe('text files must be UTF-8', { timeout: 8 * LIMIT }, () => {
  const csv = (): { file: string; out: string } => {
    const dir = tmpDir('csv');
    const file = path.join(dir, 'test.csv');
    // line 3 holds the invalid byte 0xE9 (Latin-1 "é") inside an answer
    fs.writeFileSync(file, Buffer.concat([Buffer.from('text,question,answers\n"Doc one.","Who?","Ann"\n"Doc two.","What?","B'), Buffer.from([0xe9]), Buffer.from('b"\n')]));
    return { file, out: path.join(dir, 'out') };
  };
  const offsetOfE9 = Buffer.byteLength('text,question,answers\n"Doc one.","Who?","Ann"\n"Doc two.","What?","B');

  it('a CSV data file is refused naming the file, line and byte offset', () => {
    const { file, out } = csv();
    const r = cli(['eval', `base_model=${TINY}`, `test_path=${file}`, `outputs=${out}`, '--device', 'cpu']);
    expectUsageFailure(r, `CSV file ${file}: not valid UTF-8: line 3, byte offset ${offsetOfE9} (byte 0xe9); re-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('CAMELS_UTF8=replace reads it (the run goes on); another CAMELS_UTF8 value is refused', () => {
    const { file, out } = csv();
    const args = ['eval', `base_model=${TINY}`, `test_path=${file}`, `outputs=${out}`, 'weight_model=CaMeLS', 'weight_model_path=/nonexistent/wm.safetensors', '--device', 'cpu'];
    const r = cli(args, { CAMELS_UTF8: 'replace' });
    expect(r.err).not.toContain('not valid UTF-8');
    expect(r.err).toContain("weight model '/nonexistent/wm.safetensors' not found"); // the data file was read; the bad weight model stops it later
    expect(r.code).toBe(1);
    expectUsageFailure(cli(args, { CAMELS_UTF8: 'latin1' }), "CAMELS_UTF8 must be 'strict' or 'replace', got 'latin1'");
  });

  it('tokenizer.json and config.json of a model directory are refused likewise', () => {
    // (the tokenizer reads config.json for its special tokens, before the model loader does)
    const t = modelWithBadByte('tokenizer.json', '"vocab"');
    const tf = path.join(t.dir, 'tokenizer.json');
    expectUsageFailure(cli(['score', '--model', t.dir, '--text', 'hello there', '--device', 'cpu']), `${tf}: not valid UTF-8: line ${t.line}, byte offset ${t.offset} (byte 0xff); re-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD`);
    const c = modelWithBadByte('config.json', '"model_type": "');
    const cf = path.join(c.dir, 'config.json');
    expectUsageFailure(cli(['score', '--model', c.dir, '--text', 'hello there', '--device', 'cpu']), `${cf}: not valid UTF-8: line ${c.line}, byte offset ${c.offset} (byte 0xff); re-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD`);
  });
});

describe('filesystem errors name the cause and the path', { timeout: 6 * LIMIT }, () => {
  const metaTrain = (outputs: string) => cli(['meta-train', '--quick', '--device', 'cpu', '--outputs', outputs]);
  const runDir = (outputs: string) => `${path.resolve(outputs, 'meta-train', 'synthetic')}${path.sep}\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d`;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('an output path below a file: ENOTDIR naming the file', () => {
    const file = path.join(tmpDir('fs'), 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const outputs = path.join(file, 'runs');
    expectUsageFailure(metaTrain(outputs), new RegExp(`^camels-gpu: cannot create the run directory ${esc(path.resolve(outputs, 'meta-train', 'synthetic'))}${esc(path.sep)}\\S+: ${esc(file)} is a file, not a directory \\(ENOTDIR\\)$`));
  });

  it('an output directory where the file system refuses to create one (/proc): an error, not a hang', () => {
    // Node 20's recursive mkdirSync loops forever here; the run directory is made one level at a time.
    let code: string | undefined;
    try {
      fs.mkdirSync('/proc/camels-probe');
      fs.rmdirSync('/proc/camels-probe');
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    if (code !== 'ENOENT') return; // not Linux procfs
    expectUsageFailure(metaTrain('/proc/camels-runs'), new RegExp(`^camels-gpu: cannot create the run directory ${runDir('/proc/camels-runs')} \\(at /proc/camels-runs\\): the file system does not allow creating a directory here \\(ENOENT\\)$`));
  });

  it('a directory that may not be written: permission or read-only, named', () => {
    // root ignores permission bits: use /sys (EPERM/EACCES, or EROFS in some containers); else a chmod'ed dir.
    let parent: string;
    const isRoot = process.getuid?.() === 0;
    if (isRoot) {
      if (!fs.existsSync('/sys/kernel')) return;
      parent = '/sys';
    } else {
      parent = tmpDir('ro');
      fs.chmodSync(parent, 0o500);
    }
    const target = path.join(parent, 'camels-runs');
    let code = '';
    try {
      fs.mkdirSync(target);
      fs.rmdirSync(target);
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code ?? '';
    }
    const cause: Record<string, string> = { EACCES: 'permission denied', EPERM: 'operation not permitted \\(permission\\)', EROFS: 'read-only file system' };
    if (!(code in cause)) return; // this machine lets us write there
    expectUsageFailure(metaTrain(target), new RegExp(`^camels-gpu: cannot create the run directory ${runDir(target)} \\(at ${esc(target)}\\): ${cause[code]} \\(${code}\\)$`));
  });
});

describe('score and generate never print NaN', { timeout: 6 * LIMIT }, () => {
  const W = 'transformer.h.0.mlp.c_fc.weight';

  it('a model with non-finite weights is refused naming the tensor and the count', () => {
    const dir = patchedModel(W, (d) => {
      d[0] = NaN;
      d[7] = Infinity;
      d[d.length - 1] = NaN;
    });
    const message = `loadPretrained ${dir}: non-finite weights (NaN or Inf) in 1 tensor(s): ${W}: 3 of ${32 * 128}`;
    expectUsageFailure(cli(['score', '--model', dir, '--text', 'hello there', '--device', 'cpu']), message);
    const g = cli(['generate', '--model', dir, '--prompt', 'hello', '--device', 'cpu']);
    expectUsageFailure(g, message);
    expect(g.out).toBe('');
  });

  it('a forward pass that overflows: a clear error, exit code 1, no NaN printed', () => {
    // finite weights (3e38 < float32 max) whose products overflow to Inf, so log-softmax gives NaN
    const dir = patchedModel('transformer.ln_f.weight', (d) => d.fill(3e38));
    const s = cli(['score', '--model', dir, '--text', 'hello there', '--json', '--device', 'cpu']);
    expectUsageFailure(s, new RegExp(`^camels-gpu: score: the model gave a non-finite log-probability \\((NaN|-?Infinity)\\) for token 1 of \\d+; its forward pass overflows or its weights are broken \\(${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
    expect(s.out).not.toMatch(/NaN/);
    const g = cli(['generate', '--model', dir, '--prompt', 'hello', '--max-new-tokens', '2', '--json', '--device', 'cpu']);
    expectUsageFailure(g, 'generate: the model produced NaN log-probs'); // the decoder's own check
    expect(g.out).not.toMatch(/NaN/);
  });
});
