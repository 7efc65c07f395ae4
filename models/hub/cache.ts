// The Hugging Face hub cache as Python's huggingface_hub lays it out, so models a user downloaded
// with transformers are found as they are:
//   <cache>/models--<org>--<name>/refs/<revision>          (file holding a commit hash)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file> (symlink to ../../blobs/<etag>)
//   <cache>/models--<org>--<name>/blobs/<etag>[.incomplete]
//   <cache>/models--<org>--<name>/.no_exist/<commit>/<file>  (files the repo does not have)
// <cache> is HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. Hub ids are `name`, `org/name`, optionally `@revision`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface HubId {
  repoId: string;
  /** Branch, tag or commit hash (default 'main'). */
  revision: string;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** True for strings shaped like a hub id (`gpt2`, `EleutherAI/gpt-neo-125m`, `org/name@v1`). */
export function looksLikeHubId(s: string): boolean {
  return parseHubIdOrNull(s) !== null;
}

function parseHubIdOrNull(s: string): HubId | null {
  const at = s.indexOf('@');
  const repoId = at >= 0 ? s.slice(0, at) : s;
  const revision = at >= 0 ? s.slice(at + 1) : 'main';
  const parts = repoId.split('/');
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => REPO_PART.test(p) && !p.includes('..') && !p.endsWith('.'))) return null;
  if (revision === '' || revision.split('/').some((p) => p === '' || p === '.' || p === '..')) return null;
  return { repoId, revision };
}

/** Parses a hub id; errors explain the accepted form. */
export function parseHubId(s: string): HubId {
  const id = parseHubIdOrNull(s);
  if (!id) throw new Error(`'${s}' is not a Hugging Face model id (expected name, org/name or org/name@revision)`);
  return id;
}

const truthy = (v: string | undefined) => v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());

/** HF_HUB_OFFLINE (or transformers' TRANSFORMERS_OFFLINE) is set. */
export function hubOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE);
}

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return env.HF_HOME;
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
}

/** The hub cache directory, as huggingface_hub computes it. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(hfHome(env), 'hub');
}

/** HF_TOKEN, else the token file huggingface-cli login writes (HF_TOKEN_PATH or HF_HOME/token). */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.HF_TOKEN?.trim()) return env.HF_TOKEN.trim();
  const file = env.HF_TOKEN_PATH || path.join(hfHome(env), 'token');
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    return t || null;
  } catch {
    return null;
  }
}

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

/** <cache>/models--<org>--<name> */
export function repoCacheDir(repoId: string, cache = hubCacheDir()): string {
  return path.join(cache, `models--${repoId.split('/').join('--')}`);
}

/** The commit a revision points at in the cache: itself when a commit hash, else refs/<revision>. */
export function cachedCommit(repoDir: string, revision: string): string | null {
  const ref = path.join(repoDir, 'refs', revision);
  if (fs.existsSync(ref)) {
    const c = fs.readFileSync(ref, 'utf8').trim();
    if (c) return c;
  }
  return COMMIT.test(revision) ? revision : null;
}

export function isCommitHash(s: string): boolean {
  return COMMIT.test(s);
}

/** snapshots/<commit>/ of a cached revision, or null when the revision is not in the cache. */
export function cachedSnapshot(id: HubId, cache = hubCacheDir()): string | null {
  const repoDir = repoCacheDir(id.repoId, cache);
  const commit = cachedCommit(repoDir, id.revision);
  if (!commit) return null;
  const snap = path.join(repoDir, 'snapshots', commit);
  return fs.existsSync(snap) && fs.statSync(snap).isDirectory() ? snap : null;
}

/** Weight files the loader reads, in the order it looks for them. */
export function hasWeights(dir: string): boolean {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return true;
  if (fs.existsSync(index)) {
    try {
      const shards = new Set(Object.values((JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map));
      return [...shards].every((s) => fs.existsSync(path.join(dir, s)));
    } catch {
      return false;
    }
  }
  return fs.existsSync(path.join(dir, 'pytorch_model.bin'));
}

/** A cached snapshot usable as a model directory: config.json and complete weights. */
export function isCompleteModelSnapshot(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && hasWeights(dir);
}

/** Where a blob goes and the snapshot link pointing at it (relative, as huggingface_hub makes it). */
export function blobPaths(repoDir: string, commit: string, filename: string, etag: string): { blob: string; pointer: string } {
  const pointer = path.join(repoDir, 'snapshots', commit, ...filename.split('/'));
  const snapRoot = path.join(repoDir, 'snapshots');
  if (!path.resolve(pointer).startsWith(path.resolve(snapRoot) + path.sep)) throw new Error(`hub: file name '${filename}' escapes the snapshot folder`);
  if (!/^[A-Za-z0-9._-]+$/.test(etag)) throw new Error(`hub: unexpected ETag '${etag}' for ${filename}`);
  return { blob: path.join(repoDir, 'blobs', etag), pointer };
}

/** Links snapshots/<commit>/<file> to its blob (a relative symlink; a copy where links fail). */
export function linkPointer(blob: string, pointer: string): void {
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  fs.rmSync(pointer, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    fs.copyFileSync(blob, pointer);
  }
}

/** .no_exist/<commit>/<file>: huggingface_hub's record that a repo has no such file at that commit. */
export function noExistPath(repoDir: string, commit: string, filename: string): string {
  return path.join(repoDir, '.no_exist', commit, ...filename.split('/'));
}

/** Records refs/<revision> → commit (not for commit hashes themselves). */
export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = path.join(repoDir, 'refs', revision);
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  if (fs.existsSync(ref) && fs.readFileSync(ref, 'utf8').trim() === commit) return;
  fs.writeFileSync(ref, commit);
}
