// The kernel contract every device implements (cpu, webgpu).
//
// A backend knows nothing of tensors, autodiff or broadcasting rules: it receives storages plus
// explicit shapes/strides and produces new storages. Shape checks, dtype checks, broadcasting and
// gradients live in engine/ops (one place). Every storage is a dense, row-major buffer of
// `size` elements of one dtype. All methods except `read` enqueue work and return at once
// (the webgpu backend records dispatches into one command encoder; nothing is read back).

export type DType = 'float32' | 'float64' | 'int32';
export type TypedArray = Float32Array | Float64Array | Int32Array;
export type DeviceName = 'cpu' | 'webgpu';

/** Opaque device memory owned by a backend. Reference counted (reshape shares storage). */
export interface Storage {
  readonly backend: DeviceName;
  /** Number of elements. */
  readonly size: number;
  readonly dtype: DType;
  /** Reference count, managed by engine/tensor.ts through `retain`/`release`. */
  refs: number;
}

/** Elementwise unary ops. Params (p0, p1) are noted where used. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu'
  | 'step'        // x > 0 ? 1 : 0  (relu derivative)
  | 'erf'
  | 'gelu_tanh'   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  | 'gelu_erf'    // 0.5 x (1 + erf(x / sqrt 2))
  | 'softplus'    // p0 = beta, p1 = threshold: beta*x > threshold ? x : log1p(exp(beta x)) / beta
  | 'pow_scalar'  // x ^ p0  (p0 any real; x^0 = 1)
  | 'add_scalar'  // x + p0
  | 'mul_scalar'; // x * p0

/** Elementwise binary ops with broadcasting through strides. Comparisons yield 1 or 0 in the out dtype. */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min';

/** A strided view of a storage: element (i0..ik) lives at offset + sum(i_j * strides[j]). */
export interface View {
  offset: number;
  strides: number[];
}

export interface MatmulSpec {
  /** Output batch shape (already broadcast), e.g. [B, H]; [] for plain 2-D. */
  batch: number[];
  /** Element strides of each operand's batch dims in output batch index space (0 where broadcast). */
  aBatchStrides: number[];
  bBatchStrides: number[];
  M: number;
  K: number;
  N: number;
  /** a is stored as [.., K, M] when transA, else [.., M, K]; b as [.., N, K] when transB, else [.., K, N]. */
  transA: boolean;
  transB: boolean;
}

/** Most (param, grad) pairs one sgdStepInPlaceGroup call takes (14 storage bindings of the 16 an adapter has). */
export const SGD_GROUP_MAX = 7;

/** The GELUs with a fused first-order backward (unary op names). */
export type GeluKind = 'gelu_tanh' | 'gelu_erf';

export interface AttentionSpec {
  /** q, k, v, out: [B, H, T, D] contiguous. */
  B: number;
  H: number;
  T: number;
  D: number;
  /** Score scale (1/sqrt(D) for GPT-2, 1 for GPT-Neo). */
  scale: number;
  causal: boolean;
  /** Local attention: key j visible from query i only when i - j < window (0 = unlimited). */
  window: number;
  /**
   * Dropout rate on the probabilities (0 or absent = none): p_ij is kept, scaled by 1/(1 − dropout),
   * when hashU24(seed, ((b·H + h)·T + i)·T + j) >= dropThreshold(dropout) (engine/random.ts) — the
   * mask E.dropout gives the [B, H, T, T] probabilities under the same seed; the row logsumexp is
   * that of the undropped softmax.
   */
  dropout?: number;
  /** Dropout seed (u32). */
  seed?: number;
}

export interface AdamSpec {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number; // decoupled (AdamW) when > 0
  step: number;        // 1-based step for bias correction
}

export interface Backend {
  readonly name: DeviceName;
  /** Human-readable adapter description ("cpu", "llvmpipe (LLVM 15, 256 bits) / OpenGL ES 3.2"). */
  readonly adapterName: string;
  /** True when the device is a software rasterizer (e.g. Mesa llvmpipe) rather than a GPU. */
  readonly isSoftware?: boolean;
  supportsDType(dtype: DType): boolean;

  // ---- memory ----
  fromArray(data: TypedArray, dtype: DType): Storage;
  /** Uninitialised-then-filled storage. */
  full(size: number, dtype: DType, value: number): Storage;
  /**
   * Optional: y[i] = start + (i mod period) · step for i < size, made on the device (position ids
   * without an upload). Without it, arange builds the values on the host.
   */
  arange?(size: number, dtype: DType, start: number, step: number, period: number): Storage;
  /** The only readback. Returns a fresh array of `size` elements. */
  read(s: Storage): Promise<TypedArray>;
  /** Return memory to the pool (called when refs reach 0). */
  free(s: Storage): void;
  /** Live (allocated, not freed) storages, for leak tests. */
  liveCount(): number;
  /** Wait for queued work (no-op on cpu). */
  sync(): Promise<void>;
  /**
   * Device memory for tensors (bytes): in use now, held by the allocator (peakBytes: the most held
   * since resetPeak(), pooled free buffers included), and the most in use (peakLiveBytes). Optional.
   */
  memoryStats?(): { liveBytes: number; peakBytes: number; pooledBytes: number; peakLiveBytes: number };
  resetPeak?(): void;

  // ---- elementwise ----
  unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): Storage;
  /** out[idx] = a[view a] op b[view b] over outShape; out dtype = outDtype (default a.dtype). */
  binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage;
  /** out = cond != 0 ? a : b, all three strided over outShape. */
  where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage;
  cast(x: Storage, to: DType): Storage;
  /** Optional: a + alpha · b for float32 a, b of one size (the functional SGD step in one kernel). */
  addScaled?(a: Storage, b: Storage, alpha: number): Storage;

  // ---- data movement ----
  /** Copy a strided view of src (shape `shape`) into a new contiguous storage. */
  copy(src: Storage, sv: View, shape: number[]): Storage;
  /** Copy a strided view of src (shape `shape`) into a strided view of dst, in place. */
  copyInto(dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): void;
  /**
   * Optional: src (contiguous, `shape`) placed at `before` in a new contiguous storage of shape
   * shape + before + after, the rest `value` (without it, pad is a fill and a copyInto).
   */
  pad?(src: Storage, shape: number[], before: number[], after: number[], value: number): Storage;
  /** rows of table [N, D] picked by idx (int32, values in [0, N)): out [M, D]. */
  gather(table: Storage, N: number, D: number, idx: Storage): Storage;
  /** out [N, D] = 0; out[idx[m]] += src[m] for src [M, D]. */
  scatterAdd(src: Storage, M: number, D: number, idx: Storage, N: number): Storage;
  /** out [R, C] of dtype: 1 at (r, idx[r]) when 0 <= idx[r] < C, else the row is 0. */
  oneHot(idx: Storage, R: number, C: number, dtype: DType): Storage;

  // ---- reductions ----
  /** Reduce x of `shape` over `axes` (sorted, unique); out has the keepdim shape. */
  reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): Storage;

  /**
   * Row top-k of x [R, C] (float), 1 <= k <= C: [values [R, k] of x's dtype, indices int32 [R, k]],
   * best first; ties to the lower index; NaN ranks below every number, NaNs by index (a NaN shows
   * only in a row with fewer than k non-NaN values). Values are x's, bit for bit. Never differentiated.
   */
  topk(x: Storage, R: number, C: number, k: number): [Storage, Storage];

  // ---- linear algebra ----
  /**
   * [..batch, M, N] = op(a) op(b). `bias` (optional, [N], a's dtype) is added to every output row in
   * the epilogue (a linear layer's x W + b in one call); the result equals the product followed by
   * an add, rounded the same way.
   */
  matmul(a: Storage, b: Storage, spec: MatmulSpec, bias?: Storage): Storage;

  // ---- fused (forward only; gradients come from engine ops) ----
  /** Row softmax of x [R, C]. */
  softmax(x: Storage, R: number, C: number): Storage;
  logSoftmax(x: Storage, R: number, C: number): Storage;
  /** y = (x - mean) / sqrt(var + eps) * w + b over rows of x [R, C]; w, b [C]. */
  layerNorm(x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): Storage;
  /** Per-row loss [R] = logsumexp(logits[r]) - logits[r, labels[r]], or 0 where labels[r] == ignoreIndex. */
  crossEntropy(logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): Storage;
  /**
   * First-order backward of crossEntropy (values only, never differentiated again):
   * dlogits[r, c] = (softmax(logits[r])[c] − [c == labels[r]]) · g[r]; rows with the ignore index are 0.
   */
  crossEntropyBackward(logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): Storage;
  /**
   * Optional first-order vjp of crossEntropyBackward at cotangent u [R, V] (values only; the backward
   * of a recorded cross-entropy backward): with p = softmax(logits[r]) and s = Σ_c u·p,
   * [logits̄ [R, V] = g[r] · p · (u − s), ḡ [R] = s − u[r, labels[r]]]; ignored rows are 0.
   */
  crossEntropyGradBackward?(logits: Storage, labels: Storage, g: Storage, u: Storage, R: number, V: number, ignoreIndex: number): [Storage, Storage];
  /** First-order backward of softmax rows: dx = y · (g − Σ_c g·y), y the softmax output [R, C]. */
  softmaxBackward(y: Storage, g: Storage, R: number, C: number): Storage;
  /**
   * First-order backward of layerNorm (values only; optional — without it the op's composite
   * backward runs): for x [R, C], w [C], g [R, C] → [dx [R, C], dw [C], db [C]].
   */
  layerNormBackward?(x: Storage, w: Storage, g: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage];
  /**
   * Optional first-order vjp of layerNormBackward's dx at cotangent u (values only; the backward of
   * a recorded layer-norm backward): for x, g, dx (layerNormBackward's dx), u [R, C] and w [C] →
   * [x̄ [R, C], ḡ [R, C], w̄ [C]] (formulas in engine/ops/fused.ts, layerNormGrad).
   */
  layerNormGradBackward?(x: Storage, w: Storage, g: Storage, dx: Storage, u: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage];
  /** Optional first-order vjp of layerNormBackward's dw at cotangent a [C]: [x̄ = LNdx(a·g), ḡ = a·x̂] (both [R, C]). */
  layerNormWeightGradBackward?(x: Storage, g: Storage, a: Storage, R: number, C: number, eps: number): [Storage, Storage];
  /** First-order backward of a GELU (values only; optional): dx = g · gelu'(x), x and g of one size. */
  geluBackward?(kind: GeluKind, x: Storage, g: Storage): Storage;
  /**
   * Optional first-order vjp of geluBackward at cotangent u (values only; the backward of a recorded
   * GELU backward): [x̄ = u · g · gelu''(x), ḡ = u · gelu'(x)].
   */
  geluGradBackward?(kind: GeluKind, x: Storage, g: Storage, u: Storage): [Storage, Storage];
  /**
   * Attention probabilities from scores [B, H, T, T] (optional; without it the op builds the mask
   * with tensors): p = softmax over keys of spec.scale · scores with the causal / window masks and
   * keyMask [B, T] (1 = real token) applied; masked keys and rows with no visible key are 0.
   * `spec.D` is not used.
   */
  maskedSoftmax?(scores: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage;
  /**
   * softmax(q k^T * scale + masks) v. keyMask [B, T] (1 = real token, 0 = pad) or null.
   * A query row whose every key is masked yields zeros.
   */
  attention(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage;
  /**
   * Optional first-order backward of attention (values only, never differentiated again):
   * [dq, dk, dv] from q, k, v, the forward output `out` and its gradient g (all [B, H, T, D]), the
   * probabilities recomputed inside (never stored). Null where the backend prefers the op's
   * composite backward for this call.
   */
  attentionBackward?(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage, Storage] | null;
  /**
   * Optional: attention over heads read from one packed projection qkv [B, T, 3·H·D] (columns
   * q | k | v, head h at columns h·D of each), output [B, T, H·D] with the heads merged — the values
   * of slicing, splitting the heads, attention and merging, without the copies. Null where the
   * backend does not do it for this call (the op then composes it). Also returns each query row's
   * logsumexp of the scaled scores, lse [B·H·T], for the backward.
   */
  attentionPacked?(qkv: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage] | null;
  /**
   * Optional first-order backward of attentionPacked: dqkv [B, T, 3·H·D] from qkv, the output and its
   * gradient g [B, T, H·D] and the forward's lse (null: recomputed); null as above.
   */
  attentionPackedBackward?(qkv: Storage, out: Storage, g: Storage, lse: Storage | null, keyMask: Storage | null, spec: AttentionSpec): Storage | null;
  /**
   * Optional: attention over heads read in place from q, k, v [B, T, H·D] (head h at columns h·D),
   * output [B, T, H·D] with the heads merged, and lse [B·H·T] as attentionPacked; null where the
   * backend does not do it (the op composes).
   */
  attentionRows?(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage] | null;
  /** Optional first-order backward of attentionRows: [dq, dk, dv] [B, T, H·D] (lse as attentionPackedBackward); null as above. */
  attentionRowsBackward?(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, lse: Storage | null, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage, Storage] | null;

  /**
   * Optional: rotary position tables out [n, 2·invFreq.length] from int32 positions [n]:
   * out[p, 2i] = out[p, 2i + 1] = cos (fn 'cos') or sin (fn 'sin') of positions[p] · invFreq[i].
   * Without it the tables are built on the host (from positions known there).
   */
  rotaryTable?(positions: Storage, n: number, invFreq: readonly number[], fn: 'cos' | 'sin', dtype: DType): Storage;

  // ---- randomness ----
  /**
   * Dropout keep-mask scaled by 1/(1-p): element i is kept when hashUniform(seed, i) >= p, where
   * hashUniform is engine/random.ts's counter hash (identical on every backend).
   */
  dropoutMask(size: number, p: number, seed: number, dtype: DType): Storage;

  // ---- optimizers (in place, never differentiated) ----
  /**
   * Adam(W) update in place: g' = g * gradScale[0] (gradScale is a 1-element storage, for clipping
   * without readback); m, v, param updated as in PyTorch's Adam/AdamW.
   */
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, gradScale: Storage | null, spec: AdamSpec): void;
  /** param -= lr * grad * (gradScale?.[0] ?? 1), in place. */
  sgdStepInPlace(param: Storage, grad: Storage, lr: number, gradScale: Storage | null): void;
  /**
   * Optional: param_t -= lr * grad_t for up to SGD_GROUP_MAX (param, grad) pairs, in place, as one
   * kernel (the optimizer then updates a model in a few launches instead of one per tensor).
   */
  sgdStepInPlaceGroup?(params: Storage[], grads: Storage[], lr: number): void;
}
