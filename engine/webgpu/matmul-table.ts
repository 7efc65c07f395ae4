// The 'gpu' kernel family's per-shape matmul table: from (M, N, K, batch, transposes, alignment,
// adapter limits) to a kernel variant, a tile, and a split-K factor. Pure (no device), so the
// choice for any shape can be unit-tested and printed (`bench kernels --op matmul_gpt2 --json`).
//
// Variants:
//   'tiled128'  shaders/matmul_tiled128.wgsl: 128 x 128 tile, 8 x 8 per invocation, vec4 global
//               loads, double-buffered k-tiles. Needs the vec4 alignment (vec4Aligned), 256
//               invocations and 16 KiB of workgroup memory, and both M and N ≥ 64 (a tile at
//               least a quarter full).
//   'tiled'     shaders/matmul.wgsl `matmul`: the general scalar bounds-checked kernel with the
//               128 x 64 / 64 x 64 / 32 x 32 tiles of chooseTile below.
//
// Split-K (both variants): only for batch 1. A big GPU (H100 / H200: 132 SMs, two 256-invocation
// workgroups resident per SM) wants ≥ FILL_GROUPS = 264 workgroups; with fewer output tiles, K is
// cut into S = min(ceil(264 / tiles), floor(K / 512), 16) chunks when S ≥ 2. The K ≥ 512 per chunk
// keeps the scratch traffic small: 2·M·N·K/S FLOPs per 8·M·N scratch bytes (write + reduce read) is
// ≥ 128 FLOP/byte, well above an H200's f32 balance (~14 FLOP/byte). The [S, M, N] scratch must fit
// one binding (S is lowered until it does). The general kernel splits over its largest tile.
//
// GPT-2 small at 2048 tokens (test/engine/matmul-table.test.ts): the forward linears and the LM
// head (its [50257, 768] weight transposed: loads run along K = 768) take tiled128; the MLP
// down-projection (K = 3072, 96 tiles) splits 3 ways, the c_attn / c_fc weight gradients (K = 2048,
// 108 / 144 tiles) 3 and 2; the LM head's dX (K = 50257, odd: unaligned) takes the general kernel
// at 128 x 64 split 2, and its weight gradient (the logits' gradient stored [2048, 50257] and read
// transposed: loads along M = 50257, unaligned) the general kernel at 128 x 64.

export interface MatmulTile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
}

/** The general kernel's tiles, largest first; each invocation computes TM x 4 outputs. */
export const TILES: Record<'large' | 'medium' | 'small', MatmulTile> = {
  large: { BM: 128, BN: 64, BK: 16, TM: 8 },
  medium: { BM: 64, BN: 64, BK: 16, TM: 4 },
  small: { BM: 32, BN: 32, BK: 16, TM: 4 },
};

/** The fast kernel's fixed tile (shaders/matmul_tiled128.wgsl: BK = 8, 8 x 8 per invocation). */
export const TILE128: MatmulTile = { BM: 128, BN: 128, BK: 8, TM: 8 };
export const TILE128_THREADS = 256;
/** Two double-buffered 8 x 128 f32 tiles (A and B). */
export const TILE128_SHARED_BYTES = 2 * 2 * 8 * 128 * 4;

/** The adapter limits the table looks at. */
export interface MatmulLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
  /** Largest storage binding in bytes (for the split-K scratch). */
  maxBindingBytes: number;
}

export type MatmulVariant = 'tiled128' | 'tiled';

export interface MatmulPlan {
  variant: MatmulVariant;
  tile: MatmulTile;
  /** Split-K factor S (1 = no split). */
  split: number;
  /** K per split (a multiple of the tile's BK; K when split = 1). */
  kchunk: number;
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** Batch items (product of the batch dims). */
  batch: number;
  transA: boolean;
  transB: boolean;
  /** vec4Aligned(...) of the operands. */
  aligned: boolean;
}

export function tileThreads(t: MatmulTile): number {
  return (t.BM / t.TM) * (t.BN / 4);
}

function fits(limits: MatmulLimits, t: MatmulTile): boolean {
  const shared = (t.BM + t.BN + 8) * t.BK * 4;
  return tileThreads(t) <= limits.maxComputeInvocationsPerWorkgroup && shared <= limits.maxComputeWorkgroupStorageSize;
}

/** Workgroups wanted in flight before a bigger tile is worth it (general kernel). */
const FILL_WORKGROUPS = 256;

/** The general kernel's tile for an M x N output over `batch` items. */
export function chooseTile(limits: MatmulLimits, M: number, N: number, batch: number): MatmulTile {
  for (const t of [TILES.large, TILES.medium]) {
    const groups = Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * batch;
    if (groups >= FILL_WORKGROUPS && fits(limits, t)) return t;
  }
  if (M >= 64 && N >= 64 && fits(limits, TILES.medium) && Math.ceil(M / 32) * Math.ceil(N / 32) * batch > FILL_WORKGROUPS / 2) {
    return TILES.medium;
  }
  return TILES.small;
}

/**
 * The vec4 fast path's alignment rule: the dims the global loads run along (A: K, or M when
 * transA; B: N, or K when transB) and every batch stride are multiples of 4 elements, and both
 * operand bindings start on a 16-byte boundary (window offsets are 256-byte aligned, so this holds
 * for every binding the runtime makes; it is checked anyway).
 */
export function vec4Aligned(
  s: { M: number; N: number; K: number; transA: boolean; transB: boolean },
  aBatchStrides: readonly number[],
  bBatchStrides: readonly number[],
  aOffsetBytes = 0,
  bOffsetBytes = 0,
): boolean {
  const aRun = s.transA ? s.M : s.K;
  const bRun = s.transB ? s.K : s.N;
  return (
    aRun % 4 === 0 &&
    bRun % 4 === 0 &&
    aBatchStrides.every((v) => v % 4 === 0) &&
    bBatchStrides.every((v) => v % 4 === 0) &&
    aOffsetBytes % 16 === 0 &&
    bOffsetBytes % 16 === 0
  );
}

/** Workgroups a big GPU wants in flight (132 SMs x 2 resident 256-invocation workgroups). */
export const FILL_GROUPS = 264;
/** Least K per split (see the header: ≥ 128 FLOP per scratch byte). */
export const MIN_SPLIT_K = 512;
export const MAX_SPLITS = 16;

/** Split-K factor and chunk for `tiles` output tiles (batch 1), or split 1. */
export function chooseSplit(M: number, N: number, K: number, batch: number, tiles: number, BK: number, maxBindingBytes: number): { split: number; kchunk: number } {
  const none = { split: 1, kchunk: K };
  if (batch !== 1 || tiles >= FILL_GROUPS) return none;
  let split = Math.min(Math.ceil(FILL_GROUPS / tiles), Math.floor(K / MIN_SPLIT_K), MAX_SPLITS);
  while (split >= 2 && split * M * N * 4 > maxBindingBytes) split--;
  if (split < 2) return none;
  const kchunk = Math.ceil(K / split / BK) * BK;
  return { split: Math.ceil(K / kchunk), kchunk };
}

/** The table: which kernel, tile and split a product gets on the 'gpu' family. */
export function planMatmul(s: MatmulShape, limits: MatmulLimits): MatmulPlan {
  const { M, N, K, batch } = s;
  const fast =
    s.aligned &&
    M >= 64 &&
    N >= 64 &&
    TILE128_THREADS <= limits.maxComputeInvocationsPerWorkgroup &&
    TILE128_SHARED_BYTES <= limits.maxComputeWorkgroupStorageSize;
  const tilesOf = (t: MatmulTile): number => Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * batch;
  if (fast) return { variant: 'tiled128', tile: TILE128, ...chooseSplit(M, N, K, batch, tilesOf(TILE128), TILE128.BK, limits.maxBindingBytes) };
  // General kernel: when the product splits, split it over the largest tile (more work per loaded
  // value) instead of shrinking the tile to fill the GPU.
  if (fits(limits, TILES.large)) {
    const s = chooseSplit(M, N, K, batch, tilesOf(TILES.large), TILES.large.BK, limits.maxBindingBytes);
    if (s.split > 1) return { variant: 'tiled', tile: TILES.large, ...s };
  }
  const tile = chooseTile(limits, M, N, batch);
  return { variant: 'tiled', tile, ...chooseSplit(M, N, K, batch, tilesOf(tile), tile.BK, limits.maxBindingBytes) };
}

/** One line for benchmarks and logs, e.g. 'tiled128 128x128 split 3'. */
export function describePlan(p: MatmulPlan): string {
  return `${p.variant} ${p.tile.BM}x${p.tile.BN}${p.split > 1 ? ` split ${p.split}` : ''}`;
}
