// Hub ids against a local fake hub (127.0.0.1 only; no test touches the network): a cache laid out
// as Python's huggingface_hub leaves it is used as is (offline too, and by commit); a missing model
// is downloaded from HF_ENDPOINT into that layout (refs, blobs named by etag, snapshot symlinks)
// with HF_TOKEN sent to the hub but not the CDN; a dropped connection resumes with a Range request;
// corrupted content, a too-small disk, unknown repos, gated repos, missing revisions and offline
// mode give errors that say so.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubCacheDir, looksLikeHubId, parseHubId } from '../../models/hub/cache.js';
import { HubError } from '../../models/hub/errors.js';
import { resolveModelSource } from '../../models/model-source.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../models/safetensors.js';
import { startFakeHub, writePythonStyleCache, type FakeHub } from './fake-hub.js';

const TINY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden', 'tiny-gpt2');
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'];
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-hub-'));
const PT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch-pt');

/** The tiny model as a two-shard checkpoint (model.safetensors.index.json + shards). */
function shardedCopy(): { dir: string; files: string[] } {
  const dir = tmp();
  for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
  const st = openSafetensors(path.join(TINY, 'model.safetensors'));
  const keys = st.keys().sort();
  const shards: Record<string, TensorToWrite>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  keys.forEach((k, i) => {
    shards[i % 2]![k] = { dtype: 'float32', shape: st.info(k).shape, data: st.readAsFloat32(k) };
    weightMap[k] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  st.close();
  shards.forEach((t, i) => writeSafetensors(path.join(dir, `model-0000${i + 1}-of-00002.safetensors`), t));
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return { dir, files: ['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'] };
}
process.env.HF_HUB_DISABLE_PROGRESS_BARS = '1';

async function expectHubError(p: Promise<unknown>, kind: string, msg: RegExp): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, 'expected a HubError').toBeInstanceOf(HubError);
  expect((e as HubError).kind).toBe(kind);
  expect((e as HubError).message).toMatch(msg);
}

describe('hub ids and the Hugging Face cache', () => {
  it('parses ids as the reference writes them and follows huggingface_hub\'s cache variables', () => {
    expect(parseHubId('distilgpt2')).toEqual({ repoId: 'distilgpt2', revision: 'main' });
    expect(parseHubId('EleutherAI/gpt-neo-125m@v1.0')).toEqual({ repoId: 'EleutherAI/gpt-neo-125m', revision: 'v1.0' });
    for (const bad of ['a/b/c', '../x', 'x@', 'org/..']) expect(looksLikeHubId(bad), bad).toBe(false);
    expect(hubCacheDir({ HF_HUB_CACHE: '/c' })).toBe('/c');
    expect(hubCacheDir({ HF_HOME: '/h' })).toBe(path.join('/h', 'hub'));
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(path.join('/x', 'huggingface', 'hub'));
    expect(hubCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
  });

  it('finds a model in a Python-style cache, offline, by ref and by commit, and loads it', async () => {
    const cache = tmp();
    const snap = writePythonStyleCache(cache, 'org/tiny', COMMIT, TINY, FILES);
    const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' };
    expect(await resolveModelSource('org/tiny', { env })).toBe(snap);
    expect(await resolveModelSource(`org/tiny@${COMMIT}`, { env })).toBe(snap);
    const m = loadPretrained(snap, { device: 'cpu', trainable: false });
    expect(m.config.modelType).toBe('gpt2');
    disposeModel(m);
    await expectHubError(resolveModelSource('org/tiny@other-branch', { env }), 'offline', /org\/tiny.*HF_HUB_OFFLINE/);
    await expectHubError(resolveModelSource('org/absent', { env }), 'offline', /not in the Hugging Face cache.*models--org--absent/);
  });

  it('a local directory stays a directory; a missing path or a file is a clear error', async () => {
    expect(await resolveModelSource(TINY)).toBe(TINY);
    await expect(resolveModelSource('./no/such/dir')).rejects.toThrow(/not a Hugging Face model directory \(no such directory\)/);
    await expect(resolveModelSource(path.join(TINY, 'config.json'))).rejects.toThrow(/is a file.*base_model_state_dict/);
  });
});

describe('downloads from HF_ENDPOINT', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    const sharded = shardedCopy();
    const binOnly = tmp();
    fs.copyFileSync(path.join(TINY, 'config.json'), path.join(binOnly, 'config.json'));
    fs.copyFileSync(path.join(TINY, 'tokenizer.json'), path.join(binOnly, 'tokenizer.json'));
    fs.copyFileSync(path.join(PT, 'tiny-gpt2.state_dict.pt'), path.join(binOnly, 'pytorch_model.bin'));
    hub = await startFakeHub({
      'org/tiny': { dir: TINY, commit: COMMIT, files: FILES },
      'org/sharded': { dir: sharded.dir, commit: COMMIT, files: sharded.files },
      'org/bin-only': { dir: binOnly, commit: COMMIT, files: ['config.json', 'tokenizer.json', 'pytorch_model.bin'] },
      'org/gated': { dir: TINY, commit: COMMIT, files: FILES, gated: true },
    });
  });
  afterAll(async () => hub.close());
  const envFor = (cache: string, extra: Record<string, string> = {}) => ({ HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'secret-token', ...extra });

  it('downloads into the huggingface_hub layout, sends HF_TOKEN to the hub only, then serves from the cache', async () => {
    const cache = tmp();
    hub.seen.length = 0;
    const dir = await resolveModelSource('org/tiny', { env: envFor(cache) });
    const repoDir = path.join(cache, 'models--org--tiny');
    expect(dir).toBe(path.join(repoDir, 'snapshots', COMMIT));
    expect(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    for (const f of FILES) {
      expect(fs.lstatSync(path.join(dir, f)).isSymbolicLink(), f).toBe(true);
      expect(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(TINY, f))), f).toBe(true);
    }
    expect(fs.readdirSync(path.join(repoDir, 'blobs')).filter((b) => b.endsWith('.incomplete'))).toEqual([]);
    // a file the repo does not have is remembered as huggingface_hub does, so it is not asked again
    expect(fs.existsSync(path.join(repoDir, '.no_exist', COMMIT, 'special_tokens_map.json'))).toBe(true);
    const hubReqs = hub.seen.filter((r) => r.server === 'hub');
    const cdnReqs = hub.seen.filter((r) => r.server === 'cdn');
    expect(hubReqs.length).toBeGreaterThan(0);
    expect(hubReqs.every((r) => r.headers.authorization === 'Bearer secret-token')).toBe(true);
    expect(cdnReqs.length).toBe(1);
    expect(cdnReqs[0]!.headers.authorization).toBeUndefined();
    const m = loadPretrained(dir, { device: 'cpu', trainable: false });
    disposeModel(m);
    hub.seen.length = 0;
    expect(await resolveModelSource('org/tiny', { env: envFor(cache) })).toBe(dir);
    expect(hub.seen).toEqual([]);
  });

  it('completes a cached model that lacks its tokenizer (Python loaded only the model), without refetching the weights', async () => {
    const cache = tmp();
    const snap = writePythonStyleCache(cache, 'org/tiny', COMMIT, TINY, ['config.json', 'model.safetensors']);
    hub.seen.length = 0;
    expect(await resolveModelSource('org/tiny', { env: envFor(cache) })).toBe(snap);
    expect(fs.readFileSync(path.join(snap, 'tokenizer.json')).equals(fs.readFileSync(path.join(TINY, 'tokenizer.json')))).toBe(true);
    expect(hub.seen.some((r) => r.url.endsWith('/model.safetensors'))).toBe(false);
    // unreachable hub: the cached model is still used, with a warning
    const cache2 = tmp();
    const snap2 = writePythonStyleCache(cache2, 'org/tiny', COMMIT, TINY, ['config.json', 'model.safetensors']);
    expect(await resolveModelSource('org/tiny', { env: { HF_HUB_CACHE: cache2, HF_ENDPOINT: 'http://127.0.0.1:9' } })).toBe(snap2);
  });

  it('downloads a sharded checkpoint (index + every shard) and a pytorch_model.bin-only repo', async () => {
    const cache = tmp();
    const want = loadPretrained(TINY, { device: 'cpu', trainable: false });
    for (const repo of ['org/sharded', 'org/bin-only']) {
      const dir = await resolveModelSource(repo, { env: envFor(cache) });
      const got = loadPretrained(dir, { device: 'cpu', trainable: false });
      for (const [k, t] of Object.entries(want.params)) expect(Array.from(await got.params[k]!.data()), `${repo} ${k}`).toEqual(Array.from(await t.data()));
      disposeModel(got);
    }
    disposeModel(want);
    expect(fs.existsSync(path.join(cache, 'models--org--sharded', 'snapshots', COMMIT, 'model-00002-of-00002.safetensors'))).toBe(true);
  });

  it('resumes a dropped download with a Range request', async () => {
    const cache = tmp();
    hub.seen.length = 0;
    hub.knobs.cutFirstGets = 1;
    const dir = await resolveModelSource('org/tiny', { env: envFor(cache) });
    const gets = hub.seen.filter((r) => r.server === 'cdn' && r.method === 'GET');
    expect(gets.length).toBe(2);
    expect(gets[0]!.headers.range).toBeUndefined();
    const size = fs.statSync(path.join(TINY, 'model.safetensors')).size;
    expect(gets[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    const from = Number(/bytes=(\d+)-/.exec(gets[1]!.headers.range!)![1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(size);
    expect(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(fs.readFileSync(path.join(TINY, 'model.safetensors')))).toBe(true);
  });

  it('refuses content whose sha256 differs from the hub\'s and keeps no blob of it', async () => {
    const cache = tmp();
    hub.knobs.corrupt = true;
    try {
      await expectHubError(resolveModelSource('org/tiny', { env: envFor(cache) }), 'integrity', /model\.safetensors.*sha256/);
    } finally {
      hub.knobs.corrupt = false;
    }
    const blobs = fs.readdirSync(path.join(cache, 'models--org--tiny', 'blobs'));
    const lfs = blobs.filter((b) => /^[0-9a-f]{64}/.test(b));
    expect(lfs).toEqual([]);
  });

  it('says so when the disk cannot hold the file', async () => {
    const cache = tmp();
    hub.knobs.fakeSize = 1e15;
    try {
      await expectHubError(resolveModelSource('org/tiny', { env: envFor(cache) }), 'disk-full', /not enough disk space.*model\.safetensors.*HF_HUB_CACHE/);
    } finally {
      hub.knobs.fakeSize = null;
    }
  });

  it('names unknown repos, gated repos and missing revisions', async () => {
    const cache = tmp();
    await expectHubError(resolveModelSource('org/nope', { env: envFor(cache) }), 'unauthorized', /'org\/nope' not found/);
    await expectHubError(resolveModelSource('org/nope', { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint, HF_TOKEN_PATH: path.join(cache, 'no-token') } }), 'not-found', /'org\/nope' not found.*HF_TOKEN/);
    await expectHubError(resolveModelSource('org/gated', { env: envFor(cache) }), 'gated', /gated repository.*request access/);
    expect(await resolveModelSource('org/gated', { env: envFor(cache, { HF_TOKEN: 'granted' }) })).toContain('models--org--gated');
    await expectHubError(resolveModelSource('org/tiny@v9', { env: envFor(cache) }), 'not-found', /revision 'v9'/);
  });

  it('an unreachable endpoint is a network error naming it', async () => {
    const cache = tmp();
    await expectHubError(resolveModelSource('org/tiny', { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: 'http://127.0.0.1:9' } }), 'network', /127\.0\.0\.1:9/);
  });
});
