// Incremental decoding with a KV cache: one forward over the (left-padded) prompts, then one token
// per row per step. Rows can be re-formed at every step (beam reordering, dropping finished rows):
// the caller names, for every new row, the row it continues; the cache rows are gathered on device.
// The next-token log-probs stay on the device; the search reads back only the top k ids and
// log-probs of each row (E.topk), counted in `bytesRead`.

import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import type { HfConfig } from '../hf-config.js';
import { emptyCache, lmHead, transformerForward, type KvCache, type Params } from '../gpt.js';
import { checkTopK, narrowTop, type NextTokens, type TopTokens } from './next-tokens.js';

/**
 * What the search algorithms need from a model: next-token distributions after the prompts, then
 * after appending one token to rows built from earlier rows. Implemented by {@link KvDecoder};
 * tests fake it with next-tokens.ts's hostNextTokens.
 */
export interface NextTokenSource {
  /** Next-token distributions after each prompt (rows = prompts, in order). */
  start(): Promise<NextTokens>;
  /**
   * New rows: row i continues previous row parents[i] (an index into the rows of the previous
   * call) with token tokens[i]. Returns the distributions of the token after that, for each new
   * row; the previous call's NextTokens is no longer valid.
   */
  step(parents: readonly number[], tokens: readonly number[]): Promise<NextTokens>;
  /** Release device memory (idempotent). */
  dispose(): void;
}

export interface DecodeModel {
  config: HfConfig;
  params: Params;
}

function firstParam(params: Params): Tensor {
  const t = params['transformer.wte.weight'] ?? Object.values(params)[0];
  if (!t) throw new Error('generate: the model has no parameters');
  return t;
}

function disposeCache(c: KvCache | null): void {
  if (!c) return;
  for (const t of c.k) t.dispose();
  for (const t of c.v) t.dispose();
  c.mask?.dispose();
}

function asFloat(data: ArrayLike<number>): Float32Array | Float64Array {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  return Float64Array.from(data);
}

/** Log-probs lp [R, V] kept on the device; top(k) selects there and reads back [R, k] twice over. */
class DeviceNextTokens implements NextTokens {
  readonly rows: number;
  readonly vocab: number;
  private best: TopTokens | null = null;
  private disposed = false;

  constructor(
    private readonly lp: Tensor,
    private readonly countBytes: (bytes: number) => void,
  ) {
    this.rows = lp.shape[0]!;
    this.vocab = lp.shape[1]!;
  }

  async top(k: number): Promise<TopTokens> {
    checkTopK(k, this.vocab);
    if (this.best && this.best.k >= k) return narrowTop(this.best, k);
    if (this.disposed) throw new Error('KvDecoder: next-token log-probs used after the next step() or dispose()');
    const { values, indices } = E.topk(this.lp, k);
    try {
      // both readbacks are started before either is awaited
      const [v, t] = await Promise.all([values.data(), indices.data()]);
      this.countBytes(v.byteLength + t.byteLength);
      this.best = { rows: this.rows, k, values: asFloat(v), tokens: t instanceof Int32Array ? t : Int32Array.from(t) };
      return this.best;
    } finally {
      values.dispose();
      indices.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.lp.dispose();
  }
}

/**
 * Left-pads the prompts to a common length (attention mask 0 on pads, positions = cumsum(mask) - 1
 * with pads at 1 as Hugging Face does; pads are never attended to), runs them once, and then feeds
 * one token per row per step, extending the cache.
 */
export class KvDecoder implements NextTokenSource {
  readonly vocab: number;
  readonly device: DeviceName;
  readonly dtype: DType;
  /** Padded prompt length. */
  readonly promptLength: number;
  private cache: KvCache | null = null;
  /** Absolute position of the last token of each current row. */
  private positions: number[] = [];
  private rows = 0;
  private started = false;
  private readonly padded: boolean;

  constructor(
    private readonly model: DecodeModel,
    private readonly prompts: readonly (readonly number[])[],
    private readonly padTokenId: number,
  ) {
    if (prompts.length === 0) throw new Error('generate: no prompts');
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new Error(`generate: prompt ${i} is empty`);
      for (const t of p) {
        if (!Number.isInteger(t) || t < 0 || t >= model.config.vocabSize) {
          throw new Error(`generate: prompt ${i} has token ${t} outside the vocabulary [0, ${model.config.vocabSize})`);
        }
      }
    });
    const p0 = firstParam(model.params);
    this.device = p0.device;
    this.dtype = p0.dtype;
    this.vocab = model.config.vocabSize;
    this.promptLength = Math.max(...prompts.map((p) => p.length));
    this.padded = prompts.some((p) => p.length !== this.promptLength);
  }

  /** Bytes read back from the device so far (top-k ids and log-probs). */
  bytesRead = 0;
  private current: DeviceNextTokens | null = null;

  /** Keep lp [R, V] on the device as the current rows' distributions (the previous ones are released). */
  private hold(lp: Tensor): NextTokens {
    this.current?.dispose();
    this.current = new DeviceNextTokens(lp, (b) => (this.bytesRead += b));
    return this.current;
  }

  /** Last-position log-probs [R, V] from hidden [R, T, C]. */
  private lastLogProbs(hidden: Tensor): Tensor {
    const [R, T, C] = hidden.shape as [number, number, number];
    const last = T === 1 ? hidden : E.slice(hidden, [0, T - 1, 0], [R, T, C]);
    const logits = lmHead(this.model.config, this.model.params, last); // [R, 1, V]
    return E.logSoftmax(E.reshape(logits, [R, logits.shape[2]!]));
  }

  async start(): Promise<NextTokens> {
    if (this.started) throw new Error('KvDecoder: start() called twice');
    this.started = true;
    const B = this.prompts.length;
    const T = this.promptLength;
    const ids: number[] = [];
    const mask: number[] = [];
    const positions: number[][] = [];
    for (const p of this.prompts) {
      const pad = T - p.length;
      const pos: number[] = [];
      for (let t = 0; t < T; t++) {
        const real = t >= pad;
        ids.push(real ? p[t - pad]! : this.padTokenId);
        mask.push(real ? 1 : 0);
        pos.push(real ? t - pad : 1);
      }
      positions.push(pos);
    }
    this.positions = this.prompts.map((p) => p.length - 1);
    this.rows = B;
    const { lp, cache } = E.tidy(() =>
      E.noGrad(() => {
        const idsT = E.tensor(ids, [B, T], { dtype: 'int32', device: this.device });
        const maskT = this.padded ? E.tensor(mask, [B, T], { dtype: this.dtype, device: this.device }) : null;
        const r = transformerForward(this.model.config, this.model.params, idsT, { attentionMask: maskT, positions, cache: emptyCache() });
        return { lp: this.lastLogProbs(r.hidden), cache: r.cache! };
      }),
    );
    this.cache = cache;
    return this.hold(lp);
  }

  async step(parents: readonly number[], tokens: readonly number[]): Promise<NextTokens> {
    if (!this.started || !this.cache) throw new Error('KvDecoder: step() before start() or after dispose()');
    const R = parents.length;
    if (tokens.length !== R || R === 0) throw new Error(`KvDecoder: step needs one token per new row (got ${tokens.length} tokens for ${R} rows)`);
    for (const p of parents) if (!Number.isInteger(p) || p < 0 || p >= this.rows) throw new Error(`KvDecoder: parent row ${p} out of range [0, ${this.rows})`);
    for (const t of tokens) if (!Number.isInteger(t) || t < 0 || t >= this.vocab) throw new Error(`KvDecoder: token ${t} outside the vocabulary`);
    const identity = R === this.rows && parents.every((p, i) => p === i);
    const positions = parents.map((p) => [this.positions[p]! + 1]);
    const old = this.cache;
    const { lp, cache } = E.tidy(() =>
      E.noGrad(() => {
        let c: KvCache = old;
        if (!identity) {
          const idx = E.tensor(parents as number[], [R], { dtype: 'int32', device: this.device });
          c = { k: old.k.map((t) => E.gather(t, idx)), v: old.v.map((t) => E.gather(t, idx)), mask: old.mask ? E.gather(old.mask, idx) : null, length: old.length };
        }
        const idsT = E.tensor(tokens as number[], [R, 1], { dtype: 'int32', device: this.device });
        const maskT = c.mask ? E.ones([R, 1], { dtype: this.dtype, device: this.device }) : null;
        const r = transformerForward(this.model.config, this.model.params, idsT, { attentionMask: maskT, positions, cache: c });
        return { lp: this.lastLogProbs(r.hidden), cache: r.cache! };
      }),
    );
    disposeCache(old);
    this.cache = cache;
    this.positions = positions.map((p) => p[0]!);
    this.rows = R;
    return this.hold(lp);
  }

  dispose(): void {
    this.current?.dispose();
    this.current = null;
    disposeCache(this.cache);
    this.cache = null;
  }
}
