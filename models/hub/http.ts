// Minimal HTTP(S) requests for the hub client on Node's http/https: one request, its status and
// headers, and the response stream; redirects are followed by the caller's rule (the hub's HEAD
// follows only relative redirects, the way huggingface_hub does, so an LFS file's CDN Location is
// read rather than fetched). Network failures become HubError('network').

import http from 'node:http';
import https from 'node:https';
import { HubError } from './errors.js';

export interface HubResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered (after the redirects followed). */
  url: string;
  body: http.IncomingMessage;
}

export interface RequestOptions {
  method: 'HEAD' | 'GET';
  headers: Record<string, string>;
  /** 'relative': follow only redirects to the same host (HEAD on the hub); 'all': follow any. */
  follow: 'relative' | 'all';
  /** Called with the next URL; returns the headers to send there (e.g. without Authorization). */
  headersFor?: (url: URL) => Record<string, string>;
  timeoutMs?: number;
}

function once(url: URL, method: string, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!lib) return Promise.reject(new HubError('network', `unsupported URL scheme in ${url.href}`));
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers }, resolve);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (e) => reject(new HubError('network', `${method} ${url.origin}${url.pathname}: ${e.message}`)));
    req.end();
  });
}

/** Performs a request, following redirects per `opts.follow` (at most 10). */
export async function hubRequest(url: string, opts: RequestOptions): Promise<HubResponse> {
  let current = new URL(url);
  let headers = opts.headers;
  for (let hop = 0; hop <= 10; hop++) {
    const res = await once(current, opts.method, headers, opts.timeoutMs ?? 30_000);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      const next = new URL(location, current);
      const relative = location.startsWith('/') && !location.startsWith('//');
      if (opts.follow === 'all' || relative) {
        res.resume();
        current = next;
        headers = opts.headersFor ? opts.headersFor(next) : headers;
        continue;
      }
    }
    return { status: res.statusCode ?? 0, headers: res.headers, url: current.href, body: res };
  }
  throw new HubError('network', `too many redirects from ${url}`);
}

export function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
