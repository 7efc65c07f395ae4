// A local stand-in for the Hugging Face hub's resolve endpoint, on 127.0.0.1 only, answering the way
// huggingface.co does: HEAD/GET /<repo>/resolve/<revision>/<file> with X-Repo-Commit; regular files
// with a quoted ETag (the git blob sha1) and Content-Length; LFS files (*.safetensors, *.bin) with a
// 302 to a CDN (a second server, another host:port) plus X-Linked-Etag (sha256) and X-Linked-Size;
// X-Error-Code RepoNotFound (401), GatedRepo (403), RevisionNotFound / EntryNotFound (404). Range
// requests are honoured. Knobs let a test cut a download short, corrupt it, or inflate its size.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface SeenRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface FakeRepo {
  dir: string;
  commit: string;
  files: string[];
  gated?: boolean;
}

export interface FakeHubKnobs {
  /** Abort the first N GETs of LFS content after half the bytes. */
  cutFirstGets: number;
  /** Serve LFS content with one byte flipped. */
  corrupt: boolean;
  /** Report this X-Linked-Size instead of the real one. */
  fakeSize: number | null;
}

export interface FakeHub {
  endpoint: string;
  seen: SeenRequest[];
  knobs: FakeHubKnobs;
  close(): Promise<void>;
}

const isLfs = (f: string) => /\.(safetensors|bin|pt)$/.test(f);
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function listen(handler: http.RequestListener): Promise<http.Server> {
  const s = http.createServer(handler);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

function sendBody(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, headers: Record<string, string>, cut: boolean): void {
  const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
  let start = 0;
  if (range) {
    start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
  }
  const part = body.subarray(start);
  res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': String(part.length), ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
  if (req.method === 'HEAD') return void res.end();
  if (cut) {
    res.write(part.subarray(0, Math.floor(part.length / 2)), () => res.destroy());
    return;
  }
  res.end(part);
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const seen: SeenRequest[] = [];
  const knobs: FakeHubKnobs = { cutFirstGets: 0, corrupt: false, fakeSize: null };
  const content = (repo: FakeRepo, f: string) => fs.readFileSync(path.join(repo.dir, f));

  const cdn = await listen((req, res) => {
    seen.push({ server: 'cdn', method: req.method!, url: req.url!, headers: req.headers });
    const m = /^\/blobs\/([^/]+)\/(.+)$/.exec(req.url!);
    const repo = m ? repos[decodeURIComponent(m[1]!)] : undefined;
    if (!m || !repo) return void res.writeHead(404).end();
    let body = content(repo, decodeURIComponent(m[2]!));
    if (knobs.corrupt) {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    const cut = req.method === 'GET' && knobs.cutFirstGets > 0;
    if (cut) knobs.cutFirstGets--;
    sendBody(req, res, body, { 'Content-Type': 'application/octet-stream' }, cut);
  });
  const cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const hub = await listen((req, res) => {
    seen.push({ server: 'hub', method: req.method!, url: req.url!, headers: req.headers });
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!);
    if (!m) return void res.writeHead(404).end();
    const [repoId, revision, file] = [m[1]!, decodeURIComponent(m[2]!), m[3]!.split('/').map(decodeURIComponent).join('/')];
    const repo = repos[repoId];
    if (!repo) return void res.writeHead(401, { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': 'Repository not found' }).end();
    if (repo.gated && !String(req.headers.authorization ?? '').startsWith('Bearer granted')) {
      return void res.writeHead(403, { 'X-Error-Code': 'GatedRepo', 'X-Error-Message': 'Access to this model is restricted' }).end();
    }
    if (revision !== 'main' && revision !== repo.commit) return void res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound', 'X-Error-Message': 'Invalid rev id' }).end();
    const common = { 'X-Repo-Commit': repo.commit };
    if (!repo.files.includes(file)) return void res.writeHead(404, { ...common, 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found' }).end();
    const body = content(repo, file);
    if (isLfs(file)) {
      return void res.writeHead(302, {
        ...common,
        Location: `${cdnOrigin}/blobs/${encodeURIComponent(repoId)}/${encodeURIComponent(file)}`,
        'X-Linked-Etag': `"${sha256(body)}"`,
        'X-Linked-Size': String(knobs.fakeSize ?? body.length),
        ETag: '"lfs-pointer-sha"',
        'Content-Length': '0',
      }).end();
    }
    sendBody(req, res, body, { ...common, ETag: `"${gitSha1(body)}"`, 'Content-Type': 'application/octet-stream' }, false);
  });

  return {
    endpoint: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    seen,
    knobs,
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}

/** Lays out a model as Python's huggingface_hub leaves it in its cache (blobs + relative symlinks + refs). */
export function writePythonStyleCache(cache: string, repoId: string, commit: string, srcDir: string, files: string[]): string {
  const repoDir = path.join(cache, `models--${repoId.replace('/', '--')}`);
  const snap = path.join(repoDir, 'snapshots', commit);
  fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
  for (const f of files) {
    const body = fs.readFileSync(path.join(srcDir, f));
    const etag = isLfs(f) ? sha256(body) : gitSha1(body);
    fs.writeFileSync(path.join(repoDir, 'blobs', etag), body);
    fs.symlinkSync(path.join('..', '..', 'blobs', etag), path.join(snap, f));
  }
  return snap;
}
