// Batched matmul C[z] = op(A[z]) op(B[z]) with workgroup-shared tiles and register blocking.
//
// A is stored [M, K] (or [K, M] when TRANS_A), B [K, N] (or [N, K] when TRANS_B), C [M, N]; all
// row-major, batch offsets (in elements) from up to 4 batch dims and per-operand batch strides.
// Each workgroup computes a BM x BN tile of C; each thread a TM x 4 block (TM rows, one vec4 of
// columns), accumulating over K in steps of BK through workgroup memory. Sizes are uniforms; tile
// sizes are override constants chosen by engine/webgpu/matmul.ts from the device limits.
// Out-of-range rows / columns / k are loaded as zero and never stored.
// Split-K (u.kchunk != 0, batch 1): workgroup z multiplies k in [z*kchunk, min(K, (z+1)*kchunk))
// into slice z of a [S, M, N] scratch bound as C, and `splitk_reduce` sums the slices into C.
// HAS_BIAS adds bias[n] (binding 7) to every output row as it is stored (by splitk_reduce with
// split-K): a linear layer's x W + b in one kernel, rounded as the product followed by an add.
// engine/webgpu/matmul-table.ts chooses between this kernel and matmul_tiled128.wgsl.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;          // rows per thread, multiple of 4, at most 8
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;  // `matmul`, `splitk_reduce`: add bias[n] to every output row
override WG: u32 = 256u;        // (BM / TM) * (BN / 4), set by the host

struct Params {
  M: u32,
  N: u32,
  K: u32,
  nbatch: u32,           // number of batch dims used (0..4)
  zbase: u32,            // first batch index of this dispatch
  KCB: u32,              // software path: k chunk per A block (multiple of 4)
  Npad: u32,             // software path: padded N of packed B (multiple of 8 * WX_CPU)
  KB: u32,               // software path: k chunks
  bshape: vec4<u32>,     // batch dims, last fastest (unused dims = 1)
  bsa: vec4<u32>,        // A batch strides (elements)
  bsb: vec4<u32>,        // B batch strides
  MB: u32,               // software path: row blocks
  Kp: u32,               // software path: K rounded up to a multiple of 4
  block0: u32,           // software path: first block of this dispatch
  accumulate: u32,       // software path: add into C (k chunks after the first)
  total: u32,            // pack kernels: elements to write
  kchunk: u32,           // split-K (gpu path, batch 1): k per split, a multiple of BK; 0 = no split
  splits: u32,           // split-K: number of splits S (splitk_reduce)
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;   // [N] (any read buffer when !HAS_BIAS)

// Tiles are k-major with one vec4 of padding per k row, so the transposing stores of a
// non-transposed A (or transposed B) tile, where neighbouring invocations differ in k, spread
// over memory banks instead of all hitting one.
override AS_STRIDE: u32 = BM / 4u + 1u;  // vec4s per k row of As
override BS_STRIDE: u32 = BN / 4u + 1u;  // vec4s per k row of Bs
var<workgroup> As: array<vec4<f32>, BK * AS_STRIDE>;   // As[k][m / 4], m within the tile
var<workgroup> Bs: array<vec4<f32>, BK * BS_STRIDE>;   // Bs[k][n / 4]

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = u.M;
  let N = u.N;
  let K = u.K;
  let z = wid.z + u.zbase;

  // K range (the whole of K, or this split's chunk; with split-K the batch is 1, so z is the split
  // and the batch offsets below are zero).
  var kbeg = 0u;
  var kend = K;
  if (u.kchunk != 0u) {
    kbeg = z * u.kchunk;
    kend = min(K, kbeg + u.kchunk);
  }

  // Batch offsets.
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

  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid % (BN / 4u);
  let ty = lid / (BN / 4u);

  var acc: array<vec4<f32>, 8>;
  for (var i = 0u; i < 8u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = kbeg; k0 < kend; k0 += BK) {
    // A tile -> As (k-major).
    for (var e = lid; e < BM * BK; e += WG) {
      var mm: u32;
      var kk: u32;
      if (TRANS_A) { kk = e / BM; mm = e % BM; } else { mm = e / BK; kk = e % BK; }
      let gm = m0 + mm;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < M && gk < kend) {
        if (TRANS_A) { v = a[aoff + gk * M + gm]; } else { v = a[aoff + gm * K + gk]; }
      }
      As[kk * AS_STRIDE + mm / 4u][mm % 4u] = v;
    }
    // B tile -> Bs (k-major).
    for (var e = lid; e < BN * BK; e += WG) {
      var nn: u32;
      var kk: u32;
      if (TRANS_B) { nn = e / BK; kk = e % BK; } else { kk = e / BN; nn = e % BN; }
      let gn = n0 + nn;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < N && gk < kend) {
        if (TRANS_B) { v = b[boff + gn * K + gk]; } else { v = b[boff + gk * N + gn]; }
      }
      Bs[kk * BS_STRIDE + nn / 4u][nn % 4u] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < BK; kk++) {
      let bv = Bs[kk * BS_STRIDE + tx];
      for (var i4 = 0u; i4 < TM / 4u; i4++) {
        let av = As[kk * AS_STRIDE + ty * (TM / 4u) + i4];
        acc[i4 * 4u + 0u] = fma(vec4<f32>(av.x), bv, acc[i4 * 4u + 0u]);
        acc[i4 * 4u + 1u] = fma(vec4<f32>(av.y), bv, acc[i4 * 4u + 1u]);
        acc[i4 * 4u + 2u] = fma(vec4<f32>(av.z), bv, acc[i4 * 4u + 2u]);
        acc[i4 * 4u + 3u] = fma(vec4<f32>(av.w), bv, acc[i4 * 4u + 3u]);
      }
    }
    workgroupBarrier();
  }

  let col = n0 + tx * 4u;
  var bv = vec4<f32>(0.0);
  if (HAS_BIAS) {
    for (var q = 0u; q < 4u; q++) {
      if (col + q < N) { bv[q] = bias[col + q]; }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let row = m0 + ty * TM + i;
    if (row < M) {
      let o = coff + row * N + col;
      var r = acc[i];
      if (HAS_BIAS) { r += bv; }
      if (col + 3u < N) {
        c[o] = r.x;
        c[o + 1u] = r.y;
        c[o + 2u] = r.z;
        c[o + 3u] = r.w;
      } else {
        if (col < N) { c[o] = r.x; }
        if (col + 1u < N) { c[o + 1u] = r.y; }
        if (col + 2u < N) { c[o + 2u] = r.z; }
      }
    }
  }
}

// Split-K reduction: C[i] = sum over s of scratch[s * total + i] (scratch bound as `a`, slices in
// order, so the sum is deterministic), plus bias[i % N] when HAS_BIAS. u.total = M * N, u.splits = S.
@compute @workgroup_size(64)
fn splitk_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (i >= u.total) { return; }
  var sum = 0.0;
  for (var s = 0u; s < u.splits; s++) { sum += a[s * u.total + i]; }
  if (HAS_BIAS) { sum += bias[i % u.N]; }
  c[i] = sum;
}

// ---------------------------------------------------------------------------------------------
// Software-adapter path (CPU rasterizers such as Mesa llvmpipe). There, every storage or
// workgroup-memory load is a per-invocation scalar loop (measured ~70 cycles per vec4 per
// invocation), while a uniform-buffer load at a workgroup-uniform offset is one scalar load
// broadcast to all invocations. So A is packed into blocks of ROWS_CPU rows x KCB k (each block
// at most one 64 KiB uniform window), bound as a uniform buffer with a dynamic offset, and every
// workgroup computes ROWS_CPU whole rows: its A reads are uniform, and each B vec4 it loads feeds
// ROWS_CPU fused multiply-adds. B is packed to [batch, Kp, Npad] (zero padded, transposes
// resolved) so the inner loop needs no bounds checks. The accumulators are written out one by
// one (not as an array) so that they stay in registers.

const ROWS_CPU: u32 = 64u;       // rows per workgroup (the A block height)
override WX_CPU: u32 = 8u;       // invocations per workgroup, 8 columns (2 vec4) each

@group(0) @binding(4) var<uniform> aw: array<vec4<f32>, 4096>;   // A window (dynamic offset)
@group(0) @binding(5) var<storage, read> bp: array<vec4<f32>>;   // packed B
@group(0) @binding(6) var<storage, read_write> packed: array<vec4<f32>>;

// Batch offsets (elements) of A and B for output batch index z.
fn batch_offsets(z: u32) -> vec2<u32> {
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
  return vec2<u32>(aoff, boff);
}

// packed = A blocks [batch][MB][KB][ROWS_CPU][KCB], zero outside [M, K]. One invocation per block
// row writes its KCB values as vec4s (u.total = number of block rows).
@compute @workgroup_size(64)
fn pack_a(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (r >= u.total) { return; }
  let i = r % ROWS_CPU;
  let blk = r / ROWS_CPU;
  let kb = blk % u.KB;
  let rb = (blk / u.KB) % u.MB;
  let z = blk / (u.KB * u.MB);
  let m = rb * ROWS_CPU + i;
  let aoff = batch_offsets(z).x;
  let k0 = kb * u.KCB;
  let out4 = r * (u.KCB / 4u);
  for (var q = 0u; q < u.KCB / 4u; q++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let k = k0 + q * 4u + j;
      if (m < u.M && k < u.K) {
        if (TRANS_A) { v[j] = a[aoff + k * u.M + m]; } else { v[j] = a[aoff + m * u.K + k]; }
      }
    }
    packed[out4 + q] = v;
  }
}

// packed = B as [batch][Kp][Npad], zero outside [K, N]. One invocation per (batch, k) row
// (u.total = batch * Kp rows).
@compute @workgroup_size(64)
fn pack_b(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (r >= u.total) { return; }
  let k = r % u.Kp;
  let z = r / u.Kp;
  let boff = batch_offsets(z).y;
  let out4 = r * (u.Npad / 4u);
  for (var q = 0u; q < u.Npad / 4u; q++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let n = q * 4u + j;
      if (n < u.N && k < u.K) {
        if (TRANS_B) { v[j] = b[boff + n * u.K + k]; } else { v[j] = b[boff + k * u.N + n]; }
      }
    }
    packed[out4 + q] = v;
  }
}

// Tiny problems on software adapters: one invocation per output element, no packing.
@compute @workgroup_size(64)
fn matmul_naive(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * 64u + lid;
  if (t >= u.total) { return; }
  let n = t % u.N;
  let m = (t / u.N) % u.M;
  let z = t / (u.N * u.M);
  let off = batch_offsets(z);
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) {
    var av: f32;
    var bv: f32;
    if (TRANS_A) { av = a[off.x + k * u.M + m]; } else { av = a[off.x + m * u.K + k]; }
    if (TRANS_B) { bv = b[off.y + n * u.K + k]; } else { bv = b[off.y + k * u.N + n]; }
    acc = fma(av, bv, acc);
  }
  c[t] = acc;
}

fn store_cpu(z: u32, m: u32, n0: u32, v: vec4<f32>) {
  if (m >= u.M) { return; }
  let o = (z * u.M + m) * u.N + n0;
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < u.N) {
      if (u.accumulate != 0u) { c[o + j] = c[o + j] + v[j]; } else { c[o + j] = v[j]; }
    }
  }
}

// One workgroup: ROWS_CPU rows x (WX_CPU * 8) columns of C for one (batch, row block, k chunk).
// Block index = u.block0 + workgroup y; the uniform window holds this dispatch's blocks in order.
@compute @workgroup_size(WX_CPU)
fn matmul_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = u.block0 + wid.y;
  let kb = g % u.KB;
  let rb = (g / u.KB) % u.MB;
  let z = g / (u.KB * u.MB);
  let kc4 = u.KCB / 4u;
  let w = wid.y * ROWS_CPU * kc4;           // block start in the window (vec4 units)
  let np4 = u.Npad / 4u;
  let col4 = (wid.x * WX_CPU + lid) * 2u;
  let k0 = kb * u.KCB;
  let steps = min(kc4, (u.Kp - k0) / 4u);
  var bi = (z * u.Kp + k0) * np4 + col4;

  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0); var c8_1 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0); var c9_1 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0); var c10_1 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0); var c11_1 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0); var c12_1 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0); var c13_1 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0); var c14_1 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0); var c15_1 = vec4<f32>(0.0);
  var c16_0 = vec4<f32>(0.0); var c16_1 = vec4<f32>(0.0);
  var c17_0 = vec4<f32>(0.0); var c17_1 = vec4<f32>(0.0);
  var c18_0 = vec4<f32>(0.0); var c18_1 = vec4<f32>(0.0);
  var c19_0 = vec4<f32>(0.0); var c19_1 = vec4<f32>(0.0);
  var c20_0 = vec4<f32>(0.0); var c20_1 = vec4<f32>(0.0);
  var c21_0 = vec4<f32>(0.0); var c21_1 = vec4<f32>(0.0);
  var c22_0 = vec4<f32>(0.0); var c22_1 = vec4<f32>(0.0);
  var c23_0 = vec4<f32>(0.0); var c23_1 = vec4<f32>(0.0);
  var c24_0 = vec4<f32>(0.0); var c24_1 = vec4<f32>(0.0);
  var c25_0 = vec4<f32>(0.0); var c25_1 = vec4<f32>(0.0);
  var c26_0 = vec4<f32>(0.0); var c26_1 = vec4<f32>(0.0);
  var c27_0 = vec4<f32>(0.0); var c27_1 = vec4<f32>(0.0);
  var c28_0 = vec4<f32>(0.0); var c28_1 = vec4<f32>(0.0);
  var c29_0 = vec4<f32>(0.0); var c29_1 = vec4<f32>(0.0);
  var c30_0 = vec4<f32>(0.0); var c30_1 = vec4<f32>(0.0);
  var c31_0 = vec4<f32>(0.0); var c31_1 = vec4<f32>(0.0);
  var c32_0 = vec4<f32>(0.0); var c32_1 = vec4<f32>(0.0);
  var c33_0 = vec4<f32>(0.0); var c33_1 = vec4<f32>(0.0);
  var c34_0 = vec4<f32>(0.0); var c34_1 = vec4<f32>(0.0);
  var c35_0 = vec4<f32>(0.0); var c35_1 = vec4<f32>(0.0);
  var c36_0 = vec4<f32>(0.0); var c36_1 = vec4<f32>(0.0);
  var c37_0 = vec4<f32>(0.0); var c37_1 = vec4<f32>(0.0);
  var c38_0 = vec4<f32>(0.0); var c38_1 = vec4<f32>(0.0);
  var c39_0 = vec4<f32>(0.0); var c39_1 = vec4<f32>(0.0);
  var c40_0 = vec4<f32>(0.0); var c40_1 = vec4<f32>(0.0);
  var c41_0 = vec4<f32>(0.0); var c41_1 = vec4<f32>(0.0);
  var c42_0 = vec4<f32>(0.0); var c42_1 = vec4<f32>(0.0);
  var c43_0 = vec4<f32>(0.0); var c43_1 = vec4<f32>(0.0);
  var c44_0 = vec4<f32>(0.0); var c44_1 = vec4<f32>(0.0);
  var c45_0 = vec4<f32>(0.0); var c45_1 = vec4<f32>(0.0);
  var c46_0 = vec4<f32>(0.0); var c46_1 = vec4<f32>(0.0);
  var c47_0 = vec4<f32>(0.0); var c47_1 = vec4<f32>(0.0);
  var c48_0 = vec4<f32>(0.0); var c48_1 = vec4<f32>(0.0);
  var c49_0 = vec4<f32>(0.0); var c49_1 = vec4<f32>(0.0);
  var c50_0 = vec4<f32>(0.0); var c50_1 = vec4<f32>(0.0);
  var c51_0 = vec4<f32>(0.0); var c51_1 = vec4<f32>(0.0);
  var c52_0 = vec4<f32>(0.0); var c52_1 = vec4<f32>(0.0);
  var c53_0 = vec4<f32>(0.0); var c53_1 = vec4<f32>(0.0);
  var c54_0 = vec4<f32>(0.0); var c54_1 = vec4<f32>(0.0);
  var c55_0 = vec4<f32>(0.0); var c55_1 = vec4<f32>(0.0);
  var c56_0 = vec4<f32>(0.0); var c56_1 = vec4<f32>(0.0);
  var c57_0 = vec4<f32>(0.0); var c57_1 = vec4<f32>(0.0);
  var c58_0 = vec4<f32>(0.0); var c58_1 = vec4<f32>(0.0);
  var c59_0 = vec4<f32>(0.0); var c59_1 = vec4<f32>(0.0);
  var c60_0 = vec4<f32>(0.0); var c60_1 = vec4<f32>(0.0);
  var c61_0 = vec4<f32>(0.0); var c61_1 = vec4<f32>(0.0);
  var c62_0 = vec4<f32>(0.0); var c62_1 = vec4<f32>(0.0);
  var c63_0 = vec4<f32>(0.0); var c63_1 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < steps; k4++) {
    let b00 = bp[bi]; let b01 = bp[bi + 1u]; bi += np4;
    let b10 = bp[bi]; let b11 = bp[bi + 1u]; bi += np4;
    let b20 = bp[bi]; let b21 = bp[bi + 1u]; bi += np4;
    let b30 = bp[bi]; let b31 = bp[bi + 1u]; bi += np4;
    var av: vec4<f32>;
    av = aw[w + 0u * kc4 + k4];
    c0_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c0_0))));
    c0_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c0_1))));
    av = aw[w + 1u * kc4 + k4];
    c1_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c1_0))));
    c1_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c1_1))));
    av = aw[w + 2u * kc4 + k4];
    c2_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c2_0))));
    c2_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c2_1))));
    av = aw[w + 3u * kc4 + k4];
    c3_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c3_0))));
    c3_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c3_1))));
    av = aw[w + 4u * kc4 + k4];
    c4_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c4_0))));
    c4_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c4_1))));
    av = aw[w + 5u * kc4 + k4];
    c5_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c5_0))));
    c5_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c5_1))));
    av = aw[w + 6u * kc4 + k4];
    c6_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c6_0))));
    c6_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c6_1))));
    av = aw[w + 7u * kc4 + k4];
    c7_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c7_0))));
    c7_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c7_1))));
    av = aw[w + 8u * kc4 + k4];
    c8_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c8_0))));
    c8_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c8_1))));
    av = aw[w + 9u * kc4 + k4];
    c9_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c9_0))));
    c9_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c9_1))));
    av = aw[w + 10u * kc4 + k4];
    c10_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c10_0))));
    c10_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c10_1))));
    av = aw[w + 11u * kc4 + k4];
    c11_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c11_0))));
    c11_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c11_1))));
    av = aw[w + 12u * kc4 + k4];
    c12_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c12_0))));
    c12_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c12_1))));
    av = aw[w + 13u * kc4 + k4];
    c13_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c13_0))));
    c13_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c13_1))));
    av = aw[w + 14u * kc4 + k4];
    c14_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c14_0))));
    c14_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c14_1))));
    av = aw[w + 15u * kc4 + k4];
    c15_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c15_0))));
    c15_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c15_1))));
    av = aw[w + 16u * kc4 + k4];
    c16_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c16_0))));
    c16_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c16_1))));
    av = aw[w + 17u * kc4 + k4];
    c17_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c17_0))));
    c17_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c17_1))));
    av = aw[w + 18u * kc4 + k4];
    c18_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c18_0))));
    c18_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c18_1))));
    av = aw[w + 19u * kc4 + k4];
    c19_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c19_0))));
    c19_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c19_1))));
    av = aw[w + 20u * kc4 + k4];
    c20_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c20_0))));
    c20_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c20_1))));
    av = aw[w + 21u * kc4 + k4];
    c21_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c21_0))));
    c21_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c21_1))));
    av = aw[w + 22u * kc4 + k4];
    c22_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c22_0))));
    c22_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c22_1))));
    av = aw[w + 23u * kc4 + k4];
    c23_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c23_0))));
    c23_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c23_1))));
    av = aw[w + 24u * kc4 + k4];
    c24_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c24_0))));
    c24_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c24_1))));
    av = aw[w + 25u * kc4 + k4];
    c25_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c25_0))));
    c25_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c25_1))));
    av = aw[w + 26u * kc4 + k4];
    c26_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c26_0))));
    c26_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c26_1))));
    av = aw[w + 27u * kc4 + k4];
    c27_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c27_0))));
    c27_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c27_1))));
    av = aw[w + 28u * kc4 + k4];
    c28_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c28_0))));
    c28_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c28_1))));
    av = aw[w + 29u * kc4 + k4];
    c29_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c29_0))));
    c29_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c29_1))));
    av = aw[w + 30u * kc4 + k4];
    c30_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c30_0))));
    c30_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c30_1))));
    av = aw[w + 31u * kc4 + k4];
    c31_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c31_0))));
    c31_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c31_1))));
    av = aw[w + 32u * kc4 + k4];
    c32_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c32_0))));
    c32_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c32_1))));
    av = aw[w + 33u * kc4 + k4];
    c33_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c33_0))));
    c33_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c33_1))));
    av = aw[w + 34u * kc4 + k4];
    c34_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c34_0))));
    c34_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c34_1))));
    av = aw[w + 35u * kc4 + k4];
    c35_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c35_0))));
    c35_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c35_1))));
    av = aw[w + 36u * kc4 + k4];
    c36_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c36_0))));
    c36_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c36_1))));
    av = aw[w + 37u * kc4 + k4];
    c37_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c37_0))));
    c37_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c37_1))));
    av = aw[w + 38u * kc4 + k4];
    c38_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c38_0))));
    c38_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c38_1))));
    av = aw[w + 39u * kc4 + k4];
    c39_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c39_0))));
    c39_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c39_1))));
    av = aw[w + 40u * kc4 + k4];
    c40_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c40_0))));
    c40_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c40_1))));
    av = aw[w + 41u * kc4 + k4];
    c41_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c41_0))));
    c41_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c41_1))));
    av = aw[w + 42u * kc4 + k4];
    c42_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c42_0))));
    c42_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c42_1))));
    av = aw[w + 43u * kc4 + k4];
    c43_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c43_0))));
    c43_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c43_1))));
    av = aw[w + 44u * kc4 + k4];
    c44_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c44_0))));
    c44_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c44_1))));
    av = aw[w + 45u * kc4 + k4];
    c45_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c45_0))));
    c45_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c45_1))));
    av = aw[w + 46u * kc4 + k4];
    c46_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c46_0))));
    c46_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c46_1))));
    av = aw[w + 47u * kc4 + k4];
    c47_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c47_0))));
    c47_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c47_1))));
    av = aw[w + 48u * kc4 + k4];
    c48_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c48_0))));
    c48_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c48_1))));
    av = aw[w + 49u * kc4 + k4];
    c49_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c49_0))));
    c49_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c49_1))));
    av = aw[w + 50u * kc4 + k4];
    c50_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c50_0))));
    c50_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c50_1))));
    av = aw[w + 51u * kc4 + k4];
    c51_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c51_0))));
    c51_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c51_1))));
    av = aw[w + 52u * kc4 + k4];
    c52_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c52_0))));
    c52_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c52_1))));
    av = aw[w + 53u * kc4 + k4];
    c53_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c53_0))));
    c53_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c53_1))));
    av = aw[w + 54u * kc4 + k4];
    c54_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c54_0))));
    c54_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c54_1))));
    av = aw[w + 55u * kc4 + k4];
    c55_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c55_0))));
    c55_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c55_1))));
    av = aw[w + 56u * kc4 + k4];
    c56_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c56_0))));
    c56_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c56_1))));
    av = aw[w + 57u * kc4 + k4];
    c57_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c57_0))));
    c57_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c57_1))));
    av = aw[w + 58u * kc4 + k4];
    c58_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c58_0))));
    c58_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c58_1))));
    av = aw[w + 59u * kc4 + k4];
    c59_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c59_0))));
    c59_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c59_1))));
    av = aw[w + 60u * kc4 + k4];
    c60_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c60_0))));
    c60_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c60_1))));
    av = aw[w + 61u * kc4 + k4];
    c61_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c61_0))));
    c61_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c61_1))));
    av = aw[w + 62u * kc4 + k4];
    c62_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c62_0))));
    c62_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c62_1))));
    av = aw[w + 63u * kc4 + k4];
    c63_0 = fma(vec4(av.x), b00, fma(vec4(av.y), b10, fma(vec4(av.z), b20, fma(vec4(av.w), b30, c63_0))));
    c63_1 = fma(vec4(av.x), b01, fma(vec4(av.y), b11, fma(vec4(av.z), b21, fma(vec4(av.w), b31, c63_1))));
  }
  let m0 = rb * ROWS_CPU;
  let n0 = col4 * 4u;
  store_cpu(z, m0 + 0u, n0, c0_0); store_cpu(z, m0 + 0u, n0 + 4u, c0_1);
  store_cpu(z, m0 + 1u, n0, c1_0); store_cpu(z, m0 + 1u, n0 + 4u, c1_1);
  store_cpu(z, m0 + 2u, n0, c2_0); store_cpu(z, m0 + 2u, n0 + 4u, c2_1);
  store_cpu(z, m0 + 3u, n0, c3_0); store_cpu(z, m0 + 3u, n0 + 4u, c3_1);
  store_cpu(z, m0 + 4u, n0, c4_0); store_cpu(z, m0 + 4u, n0 + 4u, c4_1);
  store_cpu(z, m0 + 5u, n0, c5_0); store_cpu(z, m0 + 5u, n0 + 4u, c5_1);
  store_cpu(z, m0 + 6u, n0, c6_0); store_cpu(z, m0 + 6u, n0 + 4u, c6_1);
  store_cpu(z, m0 + 7u, n0, c7_0); store_cpu(z, m0 + 7u, n0 + 4u, c7_1);
  store_cpu(z, m0 + 8u, n0, c8_0); store_cpu(z, m0 + 8u, n0 + 4u, c8_1);
  store_cpu(z, m0 + 9u, n0, c9_0); store_cpu(z, m0 + 9u, n0 + 4u, c9_1);
  store_cpu(z, m0 + 10u, n0, c10_0); store_cpu(z, m0 + 10u, n0 + 4u, c10_1);
  store_cpu(z, m0 + 11u, n0, c11_0); store_cpu(z, m0 + 11u, n0 + 4u, c11_1);
  store_cpu(z, m0 + 12u, n0, c12_0); store_cpu(z, m0 + 12u, n0 + 4u, c12_1);
  store_cpu(z, m0 + 13u, n0, c13_0); store_cpu(z, m0 + 13u, n0 + 4u, c13_1);
  store_cpu(z, m0 + 14u, n0, c14_0); store_cpu(z, m0 + 14u, n0 + 4u, c14_1);
  store_cpu(z, m0 + 15u, n0, c15_0); store_cpu(z, m0 + 15u, n0 + 4u, c15_1);
  store_cpu(z, m0 + 16u, n0, c16_0); store_cpu(z, m0 + 16u, n0 + 4u, c16_1);
  store_cpu(z, m0 + 17u, n0, c17_0); store_cpu(z, m0 + 17u, n0 + 4u, c17_1);
  store_cpu(z, m0 + 18u, n0, c18_0); store_cpu(z, m0 + 18u, n0 + 4u, c18_1);
  store_cpu(z, m0 + 19u, n0, c19_0); store_cpu(z, m0 + 19u, n0 + 4u, c19_1);
  store_cpu(z, m0 + 20u, n0, c20_0); store_cpu(z, m0 + 20u, n0 + 4u, c20_1);
  store_cpu(z, m0 + 21u, n0, c21_0); store_cpu(z, m0 + 21u, n0 + 4u, c21_1);
  store_cpu(z, m0 + 22u, n0, c22_0); store_cpu(z, m0 + 22u, n0 + 4u, c22_1);
  store_cpu(z, m0 + 23u, n0, c23_0); store_cpu(z, m0 + 23u, n0 + 4u, c23_1);
  store_cpu(z, m0 + 24u, n0, c24_0); store_cpu(z, m0 + 24u, n0 + 4u, c24_1);
  store_cpu(z, m0 + 25u, n0, c25_0); store_cpu(z, m0 + 25u, n0 + 4u, c25_1);
  store_cpu(z, m0 + 26u, n0, c26_0); store_cpu(z, m0 + 26u, n0 + 4u, c26_1);
  store_cpu(z, m0 + 27u, n0, c27_0); store_cpu(z, m0 + 27u, n0 + 4u, c27_1);
  store_cpu(z, m0 + 28u, n0, c28_0); store_cpu(z, m0 + 28u, n0 + 4u, c28_1);
  store_cpu(z, m0 + 29u, n0, c29_0); store_cpu(z, m0 + 29u, n0 + 4u, c29_1);
  store_cpu(z, m0 + 30u, n0, c30_0); store_cpu(z, m0 + 30u, n0 + 4u, c30_1);
  store_cpu(z, m0 + 31u, n0, c31_0); store_cpu(z, m0 + 31u, n0 + 4u, c31_1);
  store_cpu(z, m0 + 32u, n0, c32_0); store_cpu(z, m0 + 32u, n0 + 4u, c32_1);
  store_cpu(z, m0 + 33u, n0, c33_0); store_cpu(z, m0 + 33u, n0 + 4u, c33_1);
  store_cpu(z, m0 + 34u, n0, c34_0); store_cpu(z, m0 + 34u, n0 + 4u, c34_1);
  store_cpu(z, m0 + 35u, n0, c35_0); store_cpu(z, m0 + 35u, n0 + 4u, c35_1);
  store_cpu(z, m0 + 36u, n0, c36_0); store_cpu(z, m0 + 36u, n0 + 4u, c36_1);
  store_cpu(z, m0 + 37u, n0, c37_0); store_cpu(z, m0 + 37u, n0 + 4u, c37_1);
  store_cpu(z, m0 + 38u, n0, c38_0); store_cpu(z, m0 + 38u, n0 + 4u, c38_1);
  store_cpu(z, m0 + 39u, n0, c39_0); store_cpu(z, m0 + 39u, n0 + 4u, c39_1);
  store_cpu(z, m0 + 40u, n0, c40_0); store_cpu(z, m0 + 40u, n0 + 4u, c40_1);
  store_cpu(z, m0 + 41u, n0, c41_0); store_cpu(z, m0 + 41u, n0 + 4u, c41_1);
  store_cpu(z, m0 + 42u, n0, c42_0); store_cpu(z, m0 + 42u, n0 + 4u, c42_1);
  store_cpu(z, m0 + 43u, n0, c43_0); store_cpu(z, m0 + 43u, n0 + 4u, c43_1);
  store_cpu(z, m0 + 44u, n0, c44_0); store_cpu(z, m0 + 44u, n0 + 4u, c44_1);
  store_cpu(z, m0 + 45u, n0, c45_0); store_cpu(z, m0 + 45u, n0 + 4u, c45_1);
  store_cpu(z, m0 + 46u, n0, c46_0); store_cpu(z, m0 + 46u, n0 + 4u, c46_1);
  store_cpu(z, m0 + 47u, n0, c47_0); store_cpu(z, m0 + 47u, n0 + 4u, c47_1);
  store_cpu(z, m0 + 48u, n0, c48_0); store_cpu(z, m0 + 48u, n0 + 4u, c48_1);
  store_cpu(z, m0 + 49u, n0, c49_0); store_cpu(z, m0 + 49u, n0 + 4u, c49_1);
  store_cpu(z, m0 + 50u, n0, c50_0); store_cpu(z, m0 + 50u, n0 + 4u, c50_1);
  store_cpu(z, m0 + 51u, n0, c51_0); store_cpu(z, m0 + 51u, n0 + 4u, c51_1);
  store_cpu(z, m0 + 52u, n0, c52_0); store_cpu(z, m0 + 52u, n0 + 4u, c52_1);
  store_cpu(z, m0 + 53u, n0, c53_0); store_cpu(z, m0 + 53u, n0 + 4u, c53_1);
  store_cpu(z, m0 + 54u, n0, c54_0); store_cpu(z, m0 + 54u, n0 + 4u, c54_1);
  store_cpu(z, m0 + 55u, n0, c55_0); store_cpu(z, m0 + 55u, n0 + 4u, c55_1);
  store_cpu(z, m0 + 56u, n0, c56_0); store_cpu(z, m0 + 56u, n0 + 4u, c56_1);
  store_cpu(z, m0 + 57u, n0, c57_0); store_cpu(z, m0 + 57u, n0 + 4u, c57_1);
  store_cpu(z, m0 + 58u, n0, c58_0); store_cpu(z, m0 + 58u, n0 + 4u, c58_1);
  store_cpu(z, m0 + 59u, n0, c59_0); store_cpu(z, m0 + 59u, n0 + 4u, c59_1);
  store_cpu(z, m0 + 60u, n0, c60_0); store_cpu(z, m0 + 60u, n0 + 4u, c60_1);
  store_cpu(z, m0 + 61u, n0, c61_0); store_cpu(z, m0 + 61u, n0 + 4u, c61_1);
  store_cpu(z, m0 + 62u, n0, c62_0); store_cpu(z, m0 + 62u, n0 + 4u, c62_1);
  store_cpu(z, m0 + 63u, n0, c63_0); store_cpu(z, m0 + 63u, n0 + 4u, c63_1);
}
