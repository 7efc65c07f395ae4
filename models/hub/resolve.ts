// A hub id → a local model directory: the cached snapshot when it is complete (found exactly where
// Python's huggingface_hub put it), else — unless HF_HUB_OFFLINE is set — a download of the files
// the loader reads: config.json, the tokenizer and generation files when the repo has them, and
// the weights (model.safetensors, else its index and shards, else pytorch_model.bin).

import fs from 'node:fs';
import path from 'node:path';
import { cachedSnapshot, hubCacheDir, hubEndpoint, hubOffline, hubToken, isCompleteModelSnapshot, noExistPath, parseHubId, repoCacheDir, type HubId } from './cache.js';
import { downloadHubFile, type HubClientOptions } from './download.js';
import { HubError } from './errors.js';

/** Small files fetched when the repo has them (config.json is required). */
export const MODEL_SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];

export interface ResolveHubOptions {
  env?: NodeJS.ProcessEnv;
  /** Only these files (e.g. ['config.json']), not a whole model. */
  files?: string[];
}

function clientOptions(env: NodeJS.ProcessEnv): HubClientOptions {
  return { endpoint: hubEndpoint(env), token: hubToken(env), cacheDir: hubCacheDir(env) };
}

function offlineError(id: HubId, cache: string, what: string): HubError {
  return new HubError('offline', `hub: ${what} of '${id.repoId}' (revision ${id.revision}) is not in the Hugging Face cache (${repoCacheDir(id.repoId, cache)}) and HF_HUB_OFFLINE is set; download it while online (e.g. huggingface-cli download ${id.repoId}) or unset HF_HUB_OFFLINE`);
}

async function downloadModel(id: HubId, opts: HubClientOptions): Promise<string> {
  const config = await downloadHubFile(id, 'config.json', opts);
  if (!config) throw new HubError('not-found', `hub: '${id.repoId}' has no config.json at revision ${id.revision}; not a transformers model repository`);
  // Pin the commit the first file came from, so every file is of the same revision.
  const pinned: HubId = { repoId: id.repoId, revision: config.commit };
  const snapshot = path.dirname(config.path);
  for (const f of MODEL_SIDE_FILES) await downloadHubFile(pinned, f, opts);
  if (await downloadHubFile(pinned, 'model.safetensors', opts)) return snapshot;
  const index = await downloadHubFile(pinned, 'model.safetensors.index.json', opts);
  if (index) {
    const weightMap = (JSON.parse(fs.readFileSync(index.path, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
    if (!weightMap || typeof weightMap !== 'object') throw new HubError('protocol', `hub: ${id.repoId}/model.safetensors.index.json has no weight_map`);
    for (const shard of [...new Set(Object.values(weightMap))].sort()) {
      if (!(await downloadHubFile(pinned, shard, opts))) throw new HubError('not-found', `hub: shard '${shard}' listed in ${id.repoId}/model.safetensors.index.json is missing from the repo`);
    }
    return snapshot;
  }
  if (await downloadHubFile(pinned, 'pytorch_model.bin', opts)) return snapshot;
  throw new HubError('not-found', `hub: '${id.repoId}' has neither model.safetensors, model.safetensors.index.json nor pytorch_model.bin at revision ${config.commit}`);
}

/**
 * A cached snapshot with weights may lack the tokenizer (Python code that loaded only the model):
 * fetch the side files neither present nor recorded as absent (.no_exist). A network failure here
 * is only a warning — the weights are there and the command may not need the tokenizer.
 */
async function completeSideFiles(id: HubId, snap: string, client: HubClientOptions): Promise<void> {
  const commit = path.basename(snap);
  const repoDir = repoCacheDir(id.repoId, client.cacheDir);
  const wanted = MODEL_SIDE_FILES.filter((f) => !fs.existsSync(path.join(snap, f)) && !fs.existsSync(noExistPath(repoDir, commit, f)));
  try {
    for (const f of wanted) await downloadHubFile({ repoId: id.repoId, revision: commit }, f, client);
  } catch (e) {
    if (!(e instanceof HubError)) throw e;
    process.stderr.write(`hub: using the cached '${id.repoId}' without ${wanted.join(', ')} (${e.message})\n`);
  }
}

/**
 * Resolves a hub id (`gpt2`, `org/name`, `org/name@revision`) to a local directory holding the
 * model (or just `opts.files`), downloading into the cache when needed and allowed.
 */
export async function resolveHubModel(idString: string, opts: ResolveHubOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const id = parseHubId(idString);
  const cache = hubCacheDir(env);
  const snap = cachedSnapshot(id, cache);
  const files = opts.files;
  const complete = (dir: string) => (files ? files.every((f) => fs.existsSync(path.join(dir, f))) : isCompleteModelSnapshot(dir));
  const client = clientOptions(env);
  if (snap && complete(snap)) {
    if (!files && !hubOffline(env)) await completeSideFiles(id, snap, client);
    return snap;
  }
  if (hubOffline(env)) throw offlineError(id, cache, files ? files.join(', ') : 'the model');
  if (!files) return downloadModel(id, client);
  let dir: string | null = null;
  let pinned = id;
  for (const f of files) {
    const got = await downloadHubFile(pinned, f, client);
    if (!got) throw new HubError('not-found', `hub: '${id.repoId}' has no ${f} at revision ${id.revision}`);
    pinned = { repoId: id.repoId, revision: got.commit };
    dir = path.join(repoCacheDir(id.repoId, cache), 'snapshots', got.commit);
  }
  return dir!;
}
