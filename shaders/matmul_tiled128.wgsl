// Batched matmul C[z] = op(A[z]) op(B[z]) for real GPUs: the aligned fast path of the 'gpu' kernel
// family (engine/webgpu/matmul-table.ts picks it; shaders/matmul.wgsl `matmul` is the general,
// scalar bounds-checked kernel for the other shapes).
//
// A is stored [M, K] (or [K, M] when TRANS_A), B [K, N] (or [N, K] when TRANS_B), C [M, N]; all
// row-major, batch offsets from up to 4 batch dims and per-operand batch strides (as matmul.wgsl).
//
// Layout: a 128 x 128 tile of C per 256-invocation workgroup; invocation (tx, ty) = (lid % 16,
// lid / 16) owns 8 x 8 outputs as 2 x 2 sub-blocks of 4 x 4: rows m0 + ty*4 + i*64 + r and columns
// n0 + tx*4 + j*64 + (0..3), i, j in {0, 1}, r in 0..3. A thread's columns are vec4 groups strided
// by 64, so the 16 invocations of a row read 16 consecutive vec4s of the B tile (no bank
// conflicts) and the A reads are broadcasts.
//
// Aligned fast path (checked by the host, matmul-table.ts `vec4Aligned`): the dimension each
// operand's loads run along (A: K, or M when TRANS_A; B: N, or K when TRANS_B) and every batch
// stride are multiples of 4, and bindings start 256-byte aligned; then every global load is one
// vec4 that is either wholly inside the operand or wholly outside it (loaded as zero).
//
// K loop: BK = 8 per k-tile; workgroup tiles are double buffered and the next k-tile is prefetched
// into registers (one vec4 of A and one of B per invocation) while the current one is multiplied, so
// there is ONE workgroupBarrier per k-tile.
//
// Split-K (u.kchunk != 0, batch 1 only): workgroup z = split s multiplies k in [s*kchunk,
// min(K, (s+1)*kchunk)) and writes its partial product to slice s of a [S, M, N] scratch bound as C;
// matmul.wgsl `splitk_reduce` then sums the slices (and adds the bias).
//
// Epilogue: HAS_BIAS adds bias[n] (binding 4, [N]) to every output row as it is stored: a linear
// layer's x W + b in one kernel, rounded as the product followed by an add.
//
// Counts per 128 x 128 tile and k-tile of 8 (M, N, K large):
//   FLOPs             2·M·N·K in all.
//   global loads      (128 + 128)·8 floats per 128·128·8 MACs = MNK/64 floats in all (A + B),
//                     against MNK/42.7 for the 128 x 64 tile of matmul.wgsl and MNK/32 for 64 x 64;
//                     4096³: 4.3 GB through L2 here, 6.4 GB (128 x 64), 8.6 GB (64 x 64).
//                     One vec4 load each of A and B per invocation per k-tile (scalar: 4 + 2).
//   global stores     M·N floats (S·M·N plus a reduction read of S·M·N and M·N stores with split-K).
//   workgroup memory  2 buffers x (8 x 128 A + 8 x 128 B) floats = 16 KiB (WebGPU's default limit).
//   workgroup reads   4 vec4 per 64 FMAs per invocation (1/16), against 3 per 32 (1/10.7) today.
//   registers         64 accumulators + 16 operands + 8 prefetch + ~15 indices ≈ 105 per invocation
//                     (two workgroups per SM on a 64K-register SM at ≤ 128).
//   dispatches        1 (2 with split-K: this kernel + splitk_reduce), per 65535 batch items.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;  // add bias[n] to every row in the epilogue (never on split-K partials)

const BK: u32 = 8u;
const ROW4: u32 = 32u;           // vec4s per k row of a 128-wide tile
const BUF4: u32 = BK * ROW4;     // vec4s per buffered tile

struct Params {
  M: u32,
  N: u32,
  K: u32,
  nbatch: u32,
  zbase: u32,            // first batch index of this dispatch
  KCB: u32,              // (software path fields of matmul.wgsl, unused here)
  Npad: u32,
  KB: u32,
  bshape: vec4<u32>,     // batch dims, last fastest (unused dims = 1)
  bsa: vec4<u32>,        // A batch strides (elements, multiples of 4)
  bsb: vec4<u32>,        // B batch strides
  MB: u32,
  Kp: u32,
  block0: u32,
  accumulate: u32,
  total: u32,
  kchunk: u32,           // split-K: k per split (a multiple of BK), 0 = no split
  splits: u32,           // split-K: number of splits S
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;   // [N] (any read buffer when !HAS_BIAS)

var<workgroup> As: array<vec4<f32>, 2u * BUF4>;   // [buffer][k][m / 4], m within the tile
var<workgroup> Bs: array<vec4<f32>, 2u * BUF4>;   // [buffer][k][n / 4]

// This invocation's vec4 of the A tile at k-tile start k0 (zero outside [M, kend)).
fn load_a(aoff: u32, m0: u32, k0: u32, kend: u32, lid: u32) -> vec4<f32> {
  if (TRANS_A) {
    let k = k0 + lid / ROW4;
    let m = m0 + (lid % ROW4) * 4u;
    if (k < kend && m < u.M) { return a[(aoff + k * u.M + m) / 4u]; }
  } else {
    let m = m0 + lid / 2u;
    let k = k0 + (lid % 2u) * 4u;
    if (m < u.M && k < kend) { return a[(aoff + m * u.K + k) / 4u]; }
  }
  return vec4<f32>(0.0);
}

// This invocation's vec4 of the B tile at k-tile start k0 (zero outside [kend, N)).
fn load_b(boff: u32, n0: u32, k0: u32, kend: u32, lid: u32) -> vec4<f32> {
  if (TRANS_B) {
    let n = n0 + lid / 2u;
    let k = k0 + (lid % 2u) * 4u;
    if (n < u.N && k < kend) { return b[(boff + n * u.K + k) / 4u]; }
  } else {
    let k = k0 + lid / ROW4;
    let n = n0 + (lid % ROW4) * 4u;
    if (k < kend && n < u.N) { return b[(boff + k * u.N + n) / 4u]; }
  }
  return vec4<f32>(0.0);
}

// Store a loaded vec4 into buffer `buf` of the k-major A tile (transposing when it runs along k).
fn store_a(buf: u32, lid: u32, v: vec4<f32>) {
  let base = buf * BUF4;
  if (TRANS_A) {
    As[base + (lid / ROW4) * ROW4 + lid % ROW4] = v;
  } else {
    let m = lid / 2u;
    let k = (lid % 2u) * 4u;
    let i = base + k * ROW4 + m / 4u;
    let q = m % 4u;
    As[i][q] = v.x;
    As[i + ROW4][q] = v.y;
    As[i + 2u * ROW4][q] = v.z;
    As[i + 3u * ROW4][q] = v.w;
  }
}

fn store_b(buf: u32, lid: u32, v: vec4<f32>) {
  let base = buf * BUF4;
  if (TRANS_B) {
    let n = lid / 2u;
    let k = (lid % 2u) * 4u;
    let i = base + k * ROW4 + n / 4u;
    let q = n % 4u;
    Bs[i][q] = v.x;
    Bs[i + ROW4][q] = v.y;
    Bs[i + 2u * ROW4][q] = v.z;
    Bs[i + 3u * ROW4][q] = v.w;
  } else {
    Bs[base + (lid / ROW4) * ROW4 + lid % ROW4] = v;
  }
}

// Row `row` of C, columns col..col+3, bounds-checked, plus the bias when HAS_BIAS.
fn store_c(coff: u32, row: u32, col: u32, acc: vec4<f32>) {
  if (row >= u.M) { return; }
  let o = coff + row * u.N + col;
  var v = acc;
  if (HAS_BIAS) {
    for (var q = 0u; q < 4u; q++) {
      if (col + q < u.N) { v[q] += bias[col + q]; }
    }
  }
  if (col + 3u < u.N) {
    c[o] = v.x;
    c[o + 1u] = v.y;
    c[o + 2u] = v.z;
    c[o + 3u] = v.w;
  } else {
    if (col < u.N) { c[o] = v.x; }
    if (col + 1u < u.N) { c[o + 1u] = v.y; }
    if (col + 2u < u.N) { c[o + 2u] = v.z; }
  }
}

@compute @workgroup_size(256)
fn matmul_tiled128(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = u.M;
  let N = u.N;
  let z = wid.z + u.zbase;

  // K range (the whole of K, or this split's chunk).
  var kbeg = 0u;
  var kend = u.K;
  if (u.kchunk != 0u) {
    kbeg = z * u.kchunk;
    kend = min(u.K, kbeg + u.kchunk);
  }

  // Batch offsets (all zero with split-K, whose batch is 1).
  var aoff = 0u;
  var boff = 0u;
  var rem = z;
  for (var d = 3; d >= 0; d--) {
    let s = u.bshape[d];
    let idx = rem % s;
    rem = rem / s;
    aoff += idx * u.bsa[d];
    boff += idx * u.bsb[d];
  }
  if (u.kchunk != 0u) {
    aoff = 0u;
    boff = 0u;
  }
  let coff = z * M * N;

  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  let tx = lid % 16u;
  let ty = lid / 16u;

  // acc[(i * 4 + r) * 2 + j]: row ty*4 + i*64 + r, columns tx*4 + j*64 .. + 3 of the tile.
  var acc: array<vec4<f32>, 16>;   // zero-initialised

  let tiles = (kend - kbeg + BK - 1u) / BK;
  var ra = load_a(aoff, m0, kbeg, kend, lid);
  var rb = load_b(boff, n0, kbeg, kend, lid);
  store_a(0u, lid, ra);
  store_b(0u, lid, rb);
  workgroupBarrier();

  for (var t = 0u; t < tiles; t++) {
    let cur = t & 1u;
    let more = t + 1u < tiles;
    if (more) {
      // Prefetch the next k-tile into registers while this one is multiplied.
      let kn = kbeg + (t + 1u) * BK;
      ra = load_a(aoff, m0, kn, kend, lid);
      rb = load_b(boff, n0, kn, kend, lid);
    }
    let base = cur * BUF4;
    for (var kk = 0u; kk < BK; kk++) {
      let row = base + kk * ROW4;
      let a0 = As[row + ty];
      let a1 = As[row + ty + 16u];
      let b0 = Bs[row + tx];
      let b1 = Bs[row + tx + 16u];
      acc[0] = fma(vec4<f32>(a0.x), b0, acc[0]);
      acc[1] = fma(vec4<f32>(a0.x), b1, acc[1]);
      acc[2] = fma(vec4<f32>(a0.y), b0, acc[2]);
      acc[3] = fma(vec4<f32>(a0.y), b1, acc[3]);
      acc[4] = fma(vec4<f32>(a0.z), b0, acc[4]);
      acc[5] = fma(vec4<f32>(a0.z), b1, acc[5]);
      acc[6] = fma(vec4<f32>(a0.w), b0, acc[6]);
      acc[7] = fma(vec4<f32>(a0.w), b1, acc[7]);
      acc[8] = fma(vec4<f32>(a1.x), b0, acc[8]);
      acc[9] = fma(vec4<f32>(a1.x), b1, acc[9]);
      acc[10] = fma(vec4<f32>(a1.y), b0, acc[10]);
      acc[11] = fma(vec4<f32>(a1.y), b1, acc[11]);
      acc[12] = fma(vec4<f32>(a1.z), b0, acc[12]);
      acc[13] = fma(vec4<f32>(a1.z), b1, acc[13]);
      acc[14] = fma(vec4<f32>(a1.w), b0, acc[14]);
      acc[15] = fma(vec4<f32>(a1.w), b1, acc[15]);
    }
    if (more) {
      // The other buffer was last read in the previous k-tile, before the barrier below it.
      store_a(1u - cur, lid, ra);
      store_b(1u - cur, lid, rb);
    }
    workgroupBarrier();
  }

  // Constant accumulator indices throughout, so the array can live in registers.
  let r0 = m0 + ty * 4u;
  let c0 = n0 + tx * 4u;
  store_c(coff, r0 + 0u, c0, acc[0]); store_c(coff, r0 + 0u, c0 + 64u, acc[1]);
  store_c(coff, r0 + 1u, c0, acc[2]); store_c(coff, r0 + 1u, c0 + 64u, acc[3]);
  store_c(coff, r0 + 2u, c0, acc[4]); store_c(coff, r0 + 2u, c0 + 64u, acc[5]);
  store_c(coff, r0 + 3u, c0, acc[6]); store_c(coff, r0 + 3u, c0 + 64u, acc[7]);
  store_c(coff, r0 + 64u, c0, acc[8]); store_c(coff, r0 + 64u, c0 + 64u, acc[9]);
  store_c(coff, r0 + 65u, c0, acc[10]); store_c(coff, r0 + 65u, c0 + 64u, acc[11]);
  store_c(coff, r0 + 66u, c0, acc[12]); store_c(coff, r0 + 66u, c0 + 64u, acc[13]);
  store_c(coff, r0 + 67u, c0, acc[14]); store_c(coff, r0 + 67u, c0 + 64u, acc[15]);
}
