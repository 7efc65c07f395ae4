// Batched matmul C[z] = op(A[z]) op(B[z]) with workgroup-shared tiles and register blocking.
//
// A is stored [M, K] (or [K, M] when TRANS_A), B [K, N] (or [N, K] when TRANS_B), C [M, N]; all
// row-major, batch offsets (in elements) from up to 4 batch dims and per-operand batch strides.
// Each workgroup computes a BM x BN tile of C; each thread a TM x 4 block (TM rows, one vec4 of
// columns), accumulating over K in steps of BK through workgroup memory. Sizes are uniforms; tile
// sizes are override constants chosen by engine/webgpu/matmul.ts from the device limits.
// Out-of-range rows / columns / k are loaded as zero and never stored.

override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override TM: u32 = 4u;          // rows per thread, multiple of 4, at most 8
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WG: u32 = 256u;        // (BM / TM) * (BN / 4), set by the host

struct Params {
  M: u32,
  N: u32,
  K: u32,
  nbatch: u32,           // number of batch dims used (0..4)
  zbase: u32,            // first batch index of this dispatch
  _p0: u32,
  _p1: u32,
  _p2: u32,
  bshape: vec4<u32>,     // batch dims, last fastest (unused dims = 1)
  bsa: vec4<u32>,        // A batch strides (elements)
  bsb: vec4<u32>,        // B batch strides
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> As: array<vec4<f32>, BK * BM / 4u>;   // As[k][m / 4], m within the tile
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4u>;   // Bs[k][n / 4]

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = u.M;
  let N = u.N;
  let K = u.K;
  let z = wid.z + u.zbase;

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
  let coff = z * M * N;

  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid % (BN / 4u);
  let ty = lid / (BN / 4u);

  var acc: array<vec4<f32>, 8>;
  for (var i = 0u; i < 8u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < K; k0 += BK) {
    // A tile -> As (k-major).
    for (var e = lid; e < BM * BK; e += WG) {
      var mm: u32;
      var kk: u32;
      if (TRANS_A) { kk = e / BM; mm = e % BM; } else { mm = e / BK; kk = e % BK; }
      let gm = m0 + mm;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < M && gk < K) {
        if (TRANS_A) { v = a[aoff + gk * M + gm]; } else { v = a[aoff + gm * K + gk]; }
      }
      As[kk * (BM / 4u) + mm / 4u][mm % 4u] = v;
    }
    // B tile -> Bs (k-major).
    for (var e = lid; e < BN * BK; e += WG) {
      var nn: u32;
      var kk: u32;
      if (TRANS_B) { nn = e / BK; kk = e % BK; } else { kk = e / BN; nn = e % BN; }
      let gn = n0 + nn;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < N && gk < K) {
        if (TRANS_B) { v = b[boff + gn * K + gk]; } else { v = b[boff + gk * N + gn]; }
      }
      Bs[kk * (BN / 4u) + nn / 4u][nn % 4u] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < BK; kk++) {
      let bv = Bs[kk * (BN / 4u) + tx];
      for (var i4 = 0u; i4 < TM / 4u; i4++) {
        let av = As[kk * (BM / 4u) + ty * (TM / 4u) + i4];
        acc[i4 * 4u + 0u] = fma(vec4<f32>(av.x), bv, acc[i4 * 4u + 0u]);
        acc[i4 * 4u + 1u] = fma(vec4<f32>(av.y), bv, acc[i4 * 4u + 1u]);
        acc[i4 * 4u + 2u] = fma(vec4<f32>(av.z), bv, acc[i4 * 4u + 2u]);
        acc[i4 * 4u + 3u] = fma(vec4<f32>(av.w), bv, acc[i4 * 4u + 3u]);
      }
    }
    workgroupBarrier();
  }

  let col = n0 + tx * 4u;
  for (var i = 0u; i < TM; i++) {
    let row = m0 + ty * TM + i;
    if (row < M) {
      let o = coff + row * N + col;
      let r = acc[i];
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
