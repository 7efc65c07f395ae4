// The model commands end to end through the built CLI (dist/, built by `npm test` first):
// `score --model org/name` from a Python-style Hugging Face cache offline, then downloaded from a
// local fake hub (HF_ENDPOINT on 127.0.0.1) into an empty cache; offline and unknown-model errors;
// `convert` of the reference's checkpoints to a file and to a model directory; the malicious
// pickle refused; the one device line every command prints.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../../models/safetensors.js';
import { startFakeHub, writePythonStyleCache, type FakeHub } from './fake-hub.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'camels-gpu.mjs');
const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');
const PT = path.join(ROOT, 'test', 'fixtures', 'torch-pt');
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'];
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const TEXT = 'In 1873, Mira Kessel founded the Zorblat Institute in Varnholm.';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-cli-models-'));

/** Runs the CLI asynchronously (the fake hub lives in this process, so a blocking spawnSync would starve it). */
function cliAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CAMELS_QUIET: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CAMELS_QUIET: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub({ 'org/tiny': { dir: TINY, commit: COMMIT, files: FILES } });
});
afterAll(async () => hub.close());

describe('score --model with a Hugging Face id', () => {
  it('uses a Python-style cache as is, offline, and matches scoring the directory', () => {
    const cache = tmp();
    writePythonStyleCache(cache, 'org/tiny', COMMIT, TINY, FILES);
    const byId = cli(['score', '--model', 'org/tiny', '--text', TEXT, '--json', '--device', 'cpu'], { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    expect(byId.code, byId.err).toBe(0);
    expect(byId.err).toMatch(/^device: cpu/m);
    const byDir = cli(['score', '--model', TINY, '--text', TEXT, '--json', '--device', 'cpu']);
    expect(JSON.parse(byId.out)).toEqual(JSON.parse(byDir.out));
  });

  it('downloads into an empty cache from HF_ENDPOINT, then scores', async () => {
    const cache = tmp();
    const r = await cliAsync(['score', '--model', 'org/tiny', '--text', TEXT, '--json', '--device', 'cpu'], { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint });
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { ids: number[] }).ids.length).toBe(15);
    expect(fs.readFileSync(path.join(cache, 'models--org--tiny', 'refs', 'main'), 'utf8')).toBe(COMMIT);
  });

  it('offline and unknown models are clear errors', async () => {
    const cache = tmp();
    const off = cli(['score', '--model', 'org/tiny', '--text', TEXT, '--device', 'cpu'], { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' });
    expect(off.code).toBe(1);
    expect(off.err).toMatch(/not in the Hugging Face cache.*HF_HUB_OFFLINE is set/);
    const missing = await cliAsync(['score', '--model', 'org/none', '--text', TEXT, '--device', 'cpu'], { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/repository 'org\/none' not found/);
  });
});

describe('convert', () => {
  it('best_nll.pt to a .safetensors file with every tensor and dtype', () => {
    const out = path.join(tmp(), 'best.safetensors');
    const r = cli(['convert', path.join(PT, 'tiny-gpt2.state_dict.pt'), out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote 33 tensors \(31 float32, 2 bool\)/);
    const st = openSafetensors(out);
    expect(st.info('transformer.h.0.attn.bias').dtype).toBe('BOOL');
    st.close();
  });

  it('to a model directory with --base, which score then reads', () => {
    const dir = path.join(tmp(), 'qa-tuned');
    const r = cli(['convert', path.join(PT, 'tiny-gpt2.state_dict.legacy.pt'), dir, '--base', TINY]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/skipped 5 \(buffers \/ tied copies\)/);
    const s = cli(['score', '--model', dir, '--text', TEXT, '--json', '--device', 'cpu']);
    expect(s.code, s.err).toBe(0);
  });

  it('refuses the malicious pickle and bad requests', () => {
    const dir = tmp();
    const r = cli(['convert', path.join(PT, 'malicious.pt'), path.join(dir, 'x.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/refusing global 'posix\.system'/);
    expect(fs.existsSync(path.join(dir, 'x.safetensors'))).toBe(false);
    const noBase = cli(['convert', path.join(PT, 'tiny-gpt2.state_dict.pt'), path.join(dir, 'model-dir')]);
    expect(noBase.code).toBe(1);
    expect(noBase.err).toMatch(/needs --base/);
    const noArgs = cli(['convert']);
    expect(noArgs.code).toBe(1);
    expect(noArgs.err.trim()).toBe('camels-gpu: missing required args for command `convert <in> <out>`');
  });
});
