// GPT-2 / GPT-Neo / GPT-J forward passes as pure functions of a parameter record keyed by Hugging
// Face names, so training, the functional CaMeLS inner loop (θ' = θ − α∇) and decoding share them.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { HfConfig } from './hf-config.js';
import { applyRotary, rotaryTables } from './rotary.js';
import { mixSeed } from './seeds.js';

export type Params = Record<string, Tensor>;

/** Per-layer keys and values [B, H, Tpast, Dh] kept between decoding steps. */
export interface KvCache {
  k: Tensor[];
  v: Tensor[];
  /** Key padding mask of the past [B, Tpast] (1 real). */
  mask: Tensor | null;
  length: number;
}

export interface ForwardOptions {
  /** [B, T] float mask, 1 = real token, 0 = pad (keys that are pads are never attended to). */
  attentionMask?: Tensor | null;
  /** Absolute positions [B][T] (default 0..T-1, offset by the cache length). */
  positions?: number[][];
  /** Dropout on (the config's rates) with masks replayable from this seed. */
  training?: boolean;
  dropoutSeed?: number;
  /** Decoding: attend to and extend this cache (no gradients are needed there). */
  cache?: KvCache | null;
  /**
   * Compose the attention from ops (probabilities materialised, E.dropout on them) instead of the
   * fused attention ops: the reference the fused path is tested against. Default false.
   */
  composedAttention?: boolean;
}

export interface ForwardResult {
  /** Final hidden state after ln_f [B, T, C]. */
  hidden: Tensor;
  /** The extended cache when one was passed. */
  cache: KvCache | null;
}

function need(params: Params, key: string): Tensor {
  const t = params[key];
  if (!t) throw new Error(`model: missing parameter '${key}'`);
  return t;
}

/** Position ids [B, T] (int32): the caller's, or offset .. offset + T − 1 made on the device. */
function positionIds(positions: number[][] | undefined, B: number, T: number, offset: number, like: Tensor): Tensor {
  if (!positions) return E.arangeRows(B, offset, offset + T, 1, { device: like.device });
  return E.tensor(positions.flat(), [B, T], { dtype: 'int32', device: like.device });
}

/** [B, T, C] → [B, H, T, Dh] */
function splitHeads(x: Tensor, H: number): Tensor {
  const [B, T, C] = x.shape as [number, number, number];
  return E.permute(E.reshape(x, [B, T, H, C / H]), [0, 2, 1, 3]);
}
/** [B, H, T, Dh] → [B, T, C] */
function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, Dh] = x.shape as [number, number, number, number];
  return E.reshape(E.permute(x, [0, 2, 1, 3]), [B, T, H * Dh]);
}

/** Scale of the attention scores for layer l. */
function attentionScale(cfg: HfConfig, l: number, Dh: number): number {
  if (cfg.modelType === 'gpt_neo') return 1; // GPT-Neo does not scale its scores
  if (cfg.modelType === 'gptj') return 1 / Math.sqrt(Dh);
  let s = cfg.scaleAttnWeights ? 1 / Math.sqrt(Dh) : 1;
  if (cfg.scaleAttnByInverseLayerIdx) s /= l + 1;
  return s;
}

function attentionWindow(cfg: HfConfig, l: number): number {
  return cfg.modelType === 'gpt_neo' && cfg.attentionLayers[l] === 'local' ? cfg.windowSize : 0;
}

/**
 * Attention with a cache (or when asked to compose it): composed from ops, dropout on the
 * probabilities when given (q [B, H, Tq, Dh], k, v [B, H, Tk, Dh]; queries sit at the last Tq
 * positions).
 */
function attentionGeneral(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor | null, scale: number, window: number, probDropout: { p: number; seed: number } | null): Tensor {
  const [B, , Tq] = q.shape as [number, number, number, number];
  const Tk = k.shape[2]!;
  const allowed0 = visibility(Tq, Tk, window, q); // [1, 1, Tq, Tk] or null: all visible
  const padMask = keyMask ? E.reshape(keyMask, [B, 1, 1, Tk]) : null;
  const allowed = allowed0 && padMask ? E.mul(allowed0, padMask) : (allowed0 ?? padMask);
  const s = E.mulScalar(E.matmul(q, k, { transB: true }), scale);
  // nothing masked: softmax(s + 0) · 1 is softmax(s), value for value
  if (!allowed) return E.matmul(probDropout ? E.dropout(E.softmax(s), probDropout.p, probDropout.seed) : E.softmax(s), v);
  const bias = E.mulScalar(E.addScalar(allowed, -1), 1e30);
  let p = E.mul(E.softmax(E.add(s, bias)), allowed);
  if (probDropout) p = E.dropout(p, probDropout.p, probDropout.seed);
  return E.matmul(p, v);
}

/**
 * Which keys each query sees, [1, 1, Tq, Tk] of 1 / 0 (queries at the last Tq of Tk positions: key j
 * visible from query i when j <= past + i and, with a local window, past + i - j < window), made
 * on the device from aranges and comparisons (no upload per layer and step); null when every key
 * is visible (one decoding query with no window, or a window wider than the cache).
 */
function visibility(Tq: number, Tk: number, window: number, like: Tensor): Tensor | null {
  if (Tq === 1 && (window === 0 || Tk <= window)) return null;
  const opts = { dtype: like.dtype, device: like.device };
  const query = E.reshape(E.arange(Tk - Tq, Tk, 1, opts), [Tq, 1]); // absolute query positions
  const key = E.reshape(E.arange(0, Tk, 1, opts), [1, Tk]);
  let vis = E.le(key, query); // [Tq, Tk]
  if (window > 0) vis = E.mul(vis, E.gt(key, E.addScalar(query, -window)));
  return E.reshape(vis, [1, 1, Tq, Tk]);
}

/** The key padding mask over past + current keys [B, Tpast + T], or null when nothing is padded. */
function extendMask(cache: KvCache | null, mask: Tensor | null, B: number, T: number, like: Tensor): Tensor | null {
  if (!cache || cache.length === 0) return mask;
  const dtype = mask?.dtype ?? cache.mask?.dtype ?? 'float32';
  const pastMask = cache.mask ?? E.ones([B, cache.length], { dtype, device: like.device });
  const cur = mask ?? E.ones([B, T], { dtype, device: like.device });
  if (!cache.mask && !mask) return null;
  return E.concat([pastMask, cur], 1);
}

/** Run the transformer body: embeddings, blocks, final layer norm. */
export function transformerForward(cfg: HfConfig, params: Params, ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
  if (ids.dtype !== 'int32' || ids.rank !== 2) throw new Error(`model: input ids must be int32 [B, T], got ${ids.dtype} [${ids.shape.join(', ')}]`);
  const [B, T] = ids.shape as [number, number];
  const H = cfg.nHead;
  const C = cfg.nEmbd;
  const Dh = C / H;
  const cache = opts.cache ?? null;
  const past = cache?.length ?? 0;
  const maxPos = opts.positions ? Math.max(...opts.positions.flat()) : past + T - 1;
  if (maxPos >= cfg.nPositions && cfg.modelType !== 'gptj') {
    throw new Error(`model: position ${maxPos} is beyond the model's ${cfg.nPositions} positions (sequence too long)`);
  }
  const training = opts.training ?? false;
  const seed = opts.dropoutSeed ?? 0;
  const drop = (x: Tensor, p: number, site: number) => (training && p > 0 ? E.dropout(x, p, mixSeed(seed, site)) : x);
  const mask = opts.attentionMask ?? null;
  const keyMask = extendMask(cache, mask, B, T, ids);
  const composed = opts.composedAttention ?? false;

  const pos = positionIds(opts.positions, B, T, past, ids); // [B, T]
  let x = E.gather(need(params, 'transformer.wte.weight'), ids); // [B, T, C]
  if (cfg.modelType !== 'gptj') x = E.add(x, E.gather(need(params, 'transformer.wpe.weight'), pos));
  x = drop(x, cfg.embdDropout, 1);
  const rot = cfg.modelType === 'gptj' ? rotaryTables(pos, cfg.rotaryDim, x) : null;
  const newK: Tensor[] = [];
  const newV: Tensor[] = [];

  for (let l = 0; l < cfg.nLayer; l++) {
    const h = `transformer.h.${l}`;
    const p = (k: string) => need(params, `${h}.${k}`);
    const site = 100 + 10 * l;
    const a = E.layerNorm(x, p('ln_1.weight'), p('ln_1.bias'), cfg.layerNormEpsilon);

    const scale = attentionScale(cfg, l, Dh);
    const window = attentionWindow(cfg, l);
    const attnDrop = training && cfg.attnDropout > 0;
    const probDropout = attnDrop ? { p: cfg.attnDropout, seed: mixSeed(seed, site + 1) } : null;
    // the fused ops' options: the masks and, in training, dropout on the probabilities inside the kernels
    const fusedOpts = { scale, causal: true, window, keyMask, dropout: probDropout?.p ?? 0, seed: probDropout?.seed ?? 0 };
    // q, k, v: [B, H, T, Dh]
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    let outW: Tensor;
    let outB: Tensor | null;
    let outLayout: 'in_out' | 'out_in';
    // GPT-2 without a cache: the heads are read from the packed projection and written merged by
    // one op (no slices or permutes where the backend fuses it; attention dropout inside it).
    let merged: Tensor | null = null; // [B, T, C]
    if (cfg.modelType === 'gpt2') {
      const qkv = E.linear(a, p('attn.c_attn.weight'), p('attn.c_attn.bias'), 'in_out'); // [B, T, 3C]
      if (!cache && !composed) {
        merged = E.attentionPacked(qkv, H, fusedOpts);
        q = k = v = qkv; // not used on this path
      } else {
        q = splitHeads(E.slice(qkv, [0, 0, 0], [B, T, C]), H);
        k = splitHeads(E.slice(qkv, [0, 0, C], [B, T, 2 * C]), H);
        v = splitHeads(E.slice(qkv, [0, 0, 2 * C], [B, T, 3 * C]), H);
      }
      outW = p('attn.c_proj.weight');
      outB = p('attn.c_proj.bias');
      outLayout = 'in_out';
    } else {
      const pre = cfg.modelType === 'gpt_neo' ? 'attn.attention' : 'attn';
      const proj = (name: string) => E.linear(a, p(`${pre}.${name}.weight`), null, 'out_in'); // [B, T, C]
      // q, k, v rows [B, T, C] (GPT-J: rotated per head)
      let qr: Tensor;
      let kr: Tensor;
      if (cfg.modelType === 'gptj') {
        const r = rot!;
        qr = E.reshape(applyRotary(E.reshape(proj('q_proj'), [B, T, H, Dh]), r.cos, r.sin, cfg.rotaryDim), [B, T, C]);
        kr = E.reshape(applyRotary(E.reshape(proj('k_proj'), [B, T, H, Dh]), r.cos, r.sin, cfg.rotaryDim), [B, T, C]);
      } else {
        qr = proj('q_proj');
        kr = proj('k_proj');
      }
      const vr = proj('v_proj');
      if (!cache && !composed) {
        // heads read and written in place by one op (no permutes where the backend fuses it)
        merged = E.attentionRows(qr, kr, vr, H, fusedOpts);
        q = k = v = qr; // not used on this path
      } else {
        q = splitHeads(qr, H);
        k = splitHeads(kr, H);
        v = splitHeads(vr, H);
      }
      outW = p(`${pre}.out_proj.weight`);
      outB = cfg.modelType === 'gpt_neo' ? p(`${pre}.out_proj.bias`) : null;
      outLayout = 'out_in';
    }
    if (cache) {
      if (cache.k[l]) {
        k = E.concat([cache.k[l]!, k], 2);
        v = E.concat([cache.v[l]!, v], 2);
      }
      newK.push(k);
      newV.push(v);
    }
    const ctx = merged ?? mergeHeads(attentionGeneral(q, k, v, keyMask, scale, window, probDropout));
    const attnOut = drop(E.linear(ctx, outW, outB, outLayout), cfg.residDropout, site + 2);

    if (cfg.modelType === 'gptj') {
      // parallel residual: x + attn(ln_1 x) + mlp(ln_1 x)
      const m = E.linear(E.activation(cfg.activation, E.linear(a, p('mlp.fc_in.weight'), p('mlp.fc_in.bias'), 'out_in')), p('mlp.fc_out.weight'), p('mlp.fc_out.bias'), 'out_in');
      x = E.add(E.add(x, attnOut), drop(m, cfg.residDropout, site + 3));
    } else {
      x = E.add(x, attnOut);
      const b = E.layerNorm(x, p('ln_2.weight'), p('ln_2.bias'), cfg.layerNormEpsilon);
      const layout = cfg.modelType === 'gpt2' ? 'in_out' : 'out_in';
      const m = E.linear(E.activation(cfg.activation, E.linear(b, p('mlp.c_fc.weight'), p('mlp.c_fc.bias'), layout)), p('mlp.c_proj.weight'), p('mlp.c_proj.bias'), layout);
      x = E.add(x, drop(m, cfg.residDropout, site + 3));
    }
  }
  const hidden = E.layerNorm(x, need(params, 'transformer.ln_f.weight'), need(params, 'transformer.ln_f.bias'), cfg.layerNormEpsilon);
  const newCache = cache ? { k: newK, v: newV, mask: keyMask, length: past + T } : null;
  return { hidden, cache: newCache };
}

/** LM head: logits [B, T, V] from the final hidden state. */
export function lmHead(cfg: HfConfig, params: Params, hidden: Tensor): Tensor {
  if (params['lm_head.weight']) {
    return E.linear(hidden, params['lm_head.weight'], params['lm_head.bias'] ?? null, 'out_in');
  }
  return E.linear(hidden, need(params, 'transformer.wte.weight'), null, 'out_in'); // tied embeddings
}

/** Logits [B, T, V] of a causal LM. */
export function causalLmLogits(cfg: HfConfig, params: Params, ids: Tensor, opts: ForwardOptions = {}): Tensor {
  return lmHead(cfg, params, transformerForward(cfg, params, ids, opts).hidden);
}

/** An empty cache for decoding. */
export function emptyCache(): KvCache {
  return { k: [], v: [], mask: null, length: 0 };
}
