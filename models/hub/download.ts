// Downloading one file of a hub repository into the huggingface_hub cache layout, as
// hf_hub_download does: a HEAD on <endpoint>/<repo>/resolve/<revision>/<file> (relative redirects
// only) gives the commit (X-Repo-Commit), the blob id (X-Linked-Etag for LFS files = the sha256 of
// the content, else ETag = the git blob sha1) and the size (X-Linked-Size, else Content-Length),
// and for LFS files a Location on the CDN. The body goes to blobs/<etag>.incomplete, resumed with
// a Range request when a partial file is there (and retried a few times when a connection drops),
// then its size and hash are checked against the HEAD's, it is renamed to blobs/<etag> and
// snapshots/<commit>/<file> is linked to it. HF_TOKEN goes to the hub only, never to the CDN.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { blobPaths, hubEndpoint, hubToken, isCommitHash, linkPointer, noExistPath, repoCacheDir, writeRef, type HubId } from './cache.js';
import { HubError } from './errors.js';
import { header, hubRequest, type HubResponse } from './http.js';
import { DownloadProgress } from './progress.js';

export interface HubFileMeta {
  commit: string;
  etag: string;
  size: number;
  /** Where to GET the content (the CDN for LFS files). */
  location: string;
}

export interface HubClientOptions {
  endpoint?: string;
  token?: string | null;
  cacheDir: string;
  /** Connection retries (with Range resume) per file. */
  retries?: number;
}

const USER_AGENT = 'camels-gpu (hub client; node)';

function baseHeaders(token: string | null | undefined): Record<string, string> {
  const h: Record<string, string> = { 'User-Agent': USER_AGENT, 'Accept-Encoding': 'identity' };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

export function resolveUrl(endpoint: string, id: HubId, filename: string): string {
  return `${endpoint}/${id.repoId}/resolve/${encodeURIComponent(id.revision)}/${filename.split('/').map(encodeURIComponent).join('/')}`;
}

/** Turns a hub error answer into a HubError; `null` for a missing file (EntryNotFound). */
function errorFor(res: HubResponse, id: HubId, filename: string, hasToken: boolean): HubError | null {
  const code = header(res.headers, 'x-error-code');
  const msg = header(res.headers, 'x-error-message');
  const repo = `'${id.repoId}'`;
  if (code === 'EntryNotFound' || (res.status === 404 && !code)) return null;
  if (code === 'RevisionNotFound') return new HubError('not-found', `hub: revision '${id.revision}' of ${repo} does not exist`);
  if (code === 'GatedRepo' || (res.status === 403 && /gated/i.test(msg ?? ''))) {
    return new HubError('gated', `hub: ${repo} is a gated repository: request access on its page${hasToken ? ' (HF_TOKEN is set but has no access yet)' : ', then set HF_TOKEN to a token of the account that has it'}`);
  }
  if (code === 'RepoNotFound' || res.status === 401) {
    return new HubError(res.status === 401 && hasToken ? 'unauthorized' : 'not-found', `hub: repository ${repo} not found${hasToken ? ' or HF_TOKEN has no access to it' : ' (if it is private, set HF_TOKEN)'}`);
  }
  if (res.status === 403) return new HubError('unauthorized', `hub: access to ${repo} refused (403)${msg ? `: ${msg}` : ''}`);
  return new HubError('network', `hub: ${filename} of ${repo}: HTTP ${res.status}${msg ? ` (${msg})` : ''}`);
}

/** A file the repo does not have (EntryNotFound), with the commit the hub answered for. */
export interface MissingFile {
  missing: true;
  commit: string | null;
}

/** HEAD of one file; MissingFile when the repo has no such file at that revision. */
export async function fileMetadata(id: HubId, filename: string, opts: HubClientOptions): Promise<HubFileMeta | MissingFile> {
  const endpoint = opts.endpoint ?? hubEndpoint();
  const token = opts.token === undefined ? hubToken() : opts.token;
  const url = resolveUrl(endpoint, id, filename);
  const res = await hubRequest(url, { method: 'HEAD', headers: baseHeaders(token), follow: 'relative' });
  res.body.resume();
  if (res.status >= 400) {
    const err = errorFor(res, id, filename, Boolean(token));
    if (err) throw err;
    return { missing: true, commit: header(res.headers, 'x-repo-commit') ?? null };
  }
  const commit = header(res.headers, 'x-repo-commit');
  const rawEtag = header(res.headers, 'x-linked-etag') ?? header(res.headers, 'etag');
  const sizeStr = header(res.headers, 'x-linked-size') ?? header(res.headers, 'content-length');
  if (!commit) throw new HubError('protocol', `hub: ${url} answered without X-Repo-Commit; is HF_ENDPOINT (${endpoint}) a Hugging Face hub?`);
  if (!rawEtag) throw new HubError('protocol', `hub: ${url} answered without an ETag; cannot tell which blob it is`);
  const size = sizeStr === undefined ? NaN : Number(sizeStr);
  if (!Number.isSafeInteger(size) || size < 0) throw new HubError('protocol', `hub: ${url} answered without a usable size (X-Linked-Size / Content-Length)`);
  const etag = rawEtag.replace(/^W\//, '').replace(/^"|"$/g, '');
  const location = header(res.headers, 'location');
  return { commit, etag, size, location: location ? new URL(location, res.url).href : res.url };
}

/** sha256 (LFS etag) or git blob sha1 (regular files) of a file on disk, matching the etag's kind. */
async function checkIntegrity(file: string, etag: string, size: number, label: string): Promise<void> {
  const kind = /^[0-9a-f]{64}$/.test(etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(etag) ? 'git-sha1' : null;
  if (!kind) return; // an opaque etag (not a content hash): only the size is checked
  const h = crypto.createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${size}\0`);
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file).on('data', (c) => h.update(c)).on('end', resolve).on('error', reject);
  });
  const got = h.digest('hex');
  if (got !== etag) {
    fs.rmSync(file, { force: true });
    throw new HubError('integrity', `hub: ${label}: downloaded content has ${kind} ${got}, the hub reports ${etag}; the partial file was removed, run again`);
  }
}

function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

function diskFull(dir: string, label: string, need: number): HubError {
  const free = freeBytes(dir);
  return new HubError('disk-full', `hub: not enough disk space for ${label} in ${dir}: ${(need / 1e6).toFixed(1)} MB needed${free !== null ? `, ${(free / 1e6).toFixed(1)} MB free` : ''} (set HF_HUB_CACHE to a larger disk)`);
}

/** One GET of the remaining bytes into `incomplete`; resolves when the body ended. */
async function fetchInto(meta: HubFileMeta, incomplete: string, label: string, endpointHost: string, token: string | null): Promise<void> {
  const have = fs.existsSync(incomplete) ? fs.statSync(incomplete).size : 0;
  if (have > meta.size) fs.rmSync(incomplete);
  const start = have > meta.size ? 0 : have;
  if (start === meta.size && start > 0) return;
  const headersFor = (u: URL) => {
    const h = baseHeaders(u.host === endpointHost ? token : null);
    if (start > 0) h.Range = `bytes=${start}-`;
    return h;
  };
  const res = await hubRequest(meta.location, { method: 'GET', headers: headersFor(new URL(meta.location)), follow: 'all', headersFor });
  if (res.status === 416 && start === meta.size) {
    res.body.resume();
    return;
  }
  if (res.status !== 200 && res.status !== 206) {
    res.body.resume();
    throw new HubError('network', `hub: GET ${label}: HTTP ${res.status}`);
  }
  const append = res.status === 206 && start > 0;
  const out = fs.createWriteStream(incomplete, { flags: append ? 'a' : 'w' });
  const bar = new DownloadProgress(label, meta.size, append ? start : 0);
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      res.body.unpipe(out);
      res.body.destroy();
      const err = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? diskFull(path.dirname(incomplete), label, meta.size) : e instanceof HubError ? e : new HubError('network', `hub: ${label}: connection lost (${e.message})`);
      // Keep what arrived: flush it to the .incomplete file, so the next attempt resumes after it.
      if (out.destroyed || out.errored) reject(err);
      else out.end(() => reject(err));
    };
    res.body.on('data', (c: Buffer) => bar.add(c.length));
    res.body.on('error', fail);
    res.body.on('aborted', () => fail(new Error('aborted by the server')));
    out.on('error', fail);
    res.body.pipe(out);
    out.on('finish', () => {
      if (failed) return;
      if (!res.body.complete) return fail(new Error('the response ended early'));
      bar.finish();
      resolve();
    });
  });
}

/**
 * Downloads `filename` of a repo into the cache (or finds its blob there) and returns the snapshot
 * path. Returns null when the repo has no such file.
 */
export async function downloadHubFile(id: HubId, filename: string, opts: HubClientOptions): Promise<{ path: string; commit: string } | null> {
  const found = await fileMetadata(id, filename, opts);
  const repoDir = repoCacheDir(id.repoId, opts.cacheDir);
  if ('missing' in found) {
    // As huggingface_hub does: remember the absence under .no_exist/<commit>/ so it is not asked again.
    if (found.commit && isCommitHash(found.commit)) {
      const marker = noExistPath(repoDir, found.commit, filename);
      fs.mkdirSync(path.dirname(marker), { recursive: true });
      fs.writeFileSync(marker, '');
      writeRef(repoDir, id.revision, found.commit);
    }
    return null;
  }
  const meta = found;
  const { blob, pointer } = blobPaths(repoDir, meta.commit, filename, meta.etag);
  const label = `${id.repoId}/${filename}`;
  try {
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    if (!fs.existsSync(blob) || fs.statSync(blob).size !== meta.size) {
      const incomplete = `${blob}.incomplete`;
      const have = fs.existsSync(incomplete) ? fs.statSync(incomplete).size : 0;
      const free = freeBytes(path.dirname(blob));
      if (free !== null && free < meta.size - have) throw diskFull(path.dirname(blob), label, meta.size - have);
      const endpointHost = new URL(opts.endpoint ?? hubEndpoint()).host;
      const token = opts.token === undefined ? hubToken() : opts.token;
      const tries = 1 + (opts.retries ?? 3);
      for (let attempt = 1; ; attempt++) {
        try {
          await fetchInto(meta, incomplete, label, endpointHost, token);
          break;
        } catch (e) {
          if (!(e instanceof HubError) || e.kind !== 'network' || attempt >= tries) throw e;
          process.stderr.write(`${(e as Error).message}; resuming (attempt ${attempt + 1} of ${tries})\n`);
        }
      }
      const got = fs.statSync(incomplete).size;
      if (got !== meta.size) {
        throw new HubError('integrity', `hub: ${label}: got ${got} bytes, the hub reports ${meta.size}; run again to resume`);
      }
      await checkIntegrity(incomplete, meta.etag, meta.size, label);
      fs.renameSync(incomplete, blob);
    }
    linkPointer(blob, pointer);
    writeRef(repoDir, id.revision, meta.commit);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(path.dirname(blob), label, meta.size);
    throw e;
  }
  return { path: pointer, commit: meta.commit };
}
