// Fused attention forward: out = softmax(scale * q k^T + masks) v for q, k, v, out [B, H, T, D]
// (or heads read from / written to row-packed layouts, see Layout).
//
// One workgroup per (query block of BQ rows, b * H + h), LANES threads per query row. Keys are
// visited in tiles of BKV rows staged in workgroup memory with an online (running max) softmax, so
// the T x T score matrix never exists. Key j is allowed for query i iff (!causal || j <= i) and
// (window == 0 || i - j < window) and (no mask || keyMask[b, j] != 0); tiles entirely outside
// the causal / window band are skipped. A query with no allowed key outputs zeros.
// Each lane owns head dims lane, lane + LANES, ... (DPT of them; D <= LANES * DPT).
// Dropout (drop_threshold != 0): out_i = Σ_j p_ij keep_ij v_j, keep_ij = drop_scale when the
// counter hash of probability ((b·H + h)·T + i)·T + j clears the threshold, else 0 (E.dropout's
// mask of the [B, H, T, T] probabilities, shaders/random.wgsl's hash); l, and so lse, stay those
// of the undropped softmax. The keep factors of a score tile are staged in Ws (MS = BQ * BKV).

override BQ: u32 = 16u;
override LANES: u32 = 8u;
override BKV: u32 = 32u;
override DPT: u32 = 8u;       // dims per lane, at most 32

override DP: u32 = LANES * DPT;     // padded head dim
override KSTRIDE: u32 = DP + 1u; // padded row stride of the key tile (spreads lanes over banks)

// Where row t of head h of sequence b starts: off + b * sb + h * sh + t * st (dims contiguous).
// [B, H, T, D] contiguous: (0, H T D, T D, D); heads read from a packed [B, T, 3 H D] projection
// or written merged into [B, T, H D]: (column offset, T W, D, W) for rows of width W.
struct Layout {
  off: u32,
  sb: u32,
  sh: u32,
  st: u32,
}

struct Params {
  B: u32,
  H: u32,
  T: u32,
  D: u32,
  scale: f32,
  causal: u32,
  window: u32,
  has_mask: u32,
  mask_float: u32,
  write_lse: u32,  // also write each query row's logsumexp of the scaled scores to lse_out [B * H * T]
  _p1: u32,
  _p2: u32,
  drop_threshold: u32,  // keep when hash >> 8 >= drop_threshold; 0 = no dropout
  drop_key: u32,        // mix32(seed)
  drop_scale: f32,      // 1 / (1 - p)
  drop_base: u32,       // index of this call's first probability in the whole [B, H, T, T]
  lq: Layout,
  lk: Layout,
  lv: Layout,
  lo: Layout,
}

fn row_at(l: Layout, b: u32, h: u32, t: u32) -> u32 {
  return l.off + b * l.sb + h * l.sh + t * l.st;
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> key_mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;

// A float from its bits (a function call, so infinities are not rejected by constant evaluation).
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

// Chris Wellons' lowbias32, as engine/random.ts mix32 (u32 arithmetic wraps like Math.imul).
fn mix32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

// Dropout keep factor of probability (row, j), row = (b·H + h)·T + i: drop_scale or 0.
fn keep_factor(row: u32, j: u32) -> f32 {
  let hv = mix32(u.drop_key + u.drop_base + row * u.T + j) >> 8u;
  return select(0.0, u.drop_scale, hv >= u.drop_threshold);
}

override MS: u32 = 1u;  // BQ * BKV when the pipeline drops, else 1 (unused)

var<workgroup> Qs: array<f32, BQ * DP>;
var<workgroup> Ks: array<f32, BKV * KSTRIDE>;
var<workgroup> Vs: array<f32, BKV * DP>;
var<workgroup> Ss: array<f32, BQ * BKV>;
var<workgroup> Ws: array<f32, MS>;

@compute @workgroup_size(BQ * LANES)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = u.T;
  let D = u.D;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let q0 = wid.x * BQ;
  let r = lid / LANES;
  let lane = lid % LANES;
  let i = q0 + r;
  let NEG_INF = f32_bits(0xff800000u);

  // Query tile, pre-scaled.
  for (var e = lid; e < BQ * DP; e += BQ * LANES) {
    let rr = e / DP;
    let dd = e % DP;
    var val = 0.0;
    if (q0 + rr < T && dd < D) { val = q[row_at(u.lq, b, h, q0 + rr) + dd] * u.scale; }
    Qs[e] = val;
  }

  // Key range that can be visible from this query block.
  let q_last = min(T, q0 + BQ) - 1u;
  var k_begin = 0u;
  if (u.window > 0u && q0 + 1u > u.window) { k_begin = q0 + 1u - u.window; }
  var k_end = T;
  if (u.causal != 0u) { k_end = min(T, q_last + 1u); }

  var m = -3.0e38;  // running max (finite sentinel: nothing seen yet)
  var l = 0.0;      // running sum of exp(s - m)
  var acc: array<f32, 32>;
  for (var t = 0u; t < DPT; t++) { acc[t] = 0.0; }

  for (var k0 = k_begin; k0 < k_end; k0 += BKV) {
    workgroupBarrier();
    for (var e = lid; e < BKV * DP; e += BQ * LANES) {
      let jj = e / DP;
      let dd = e % DP;
      let j = k0 + jj;
      var kv = 0.0;
      var vv = 0.0;
      if (j < T && dd < D) {
        kv = k[row_at(u.lk, b, h, j) + dd];
        vv = v[row_at(u.lv, b, h, j) + dd];
      }
      Ks[jj * KSTRIDE + dd] = kv;
      Vs[e] = vv;
    }
    workgroupBarrier();

    // Scores of this lane's keys.
    for (var jj = lane; jj < BKV; jj += LANES) {
      let j = k0 + jj;
      var allowed = j < T && i < T;
      if (u.causal != 0u && j > i) { allowed = false; }
      if (u.window > 0u && j + u.window <= i) { allowed = false; }
      if (allowed && u.has_mask != 0u) {
        var bits = key_mask[b * T + j];
        if (u.mask_float != 0u) { bits = bits & 0x7fffffffu; }
        allowed = bits != 0u;
      }
      var s = NEG_INF;
      if (allowed) {
        var dot = 0.0;
        for (var d = 0u; d < DP; d++) { dot = fma(Qs[r * DP + d], Ks[jj * KSTRIDE + d], dot); }
        s = dot;
      }
      Ss[r * BKV + jj] = s;
      if (u.drop_threshold != 0u) { Ws[r * BKV + jj] = keep_factor(bh * T + i, j); }
    }
    workgroupBarrier();

    // Online softmax update (every lane of a row computes the same m, l).
    var mb = m;
    for (var jj = 0u; jj < BKV; jj++) { mb = max(mb, Ss[r * BKV + jj]); }
    let alpha = exp(m - mb);
    l = l * alpha;
    for (var t = 0u; t < DPT; t++) { acc[t] = acc[t] * alpha; }
    for (var jj = 0u; jj < BKV; jj++) {
      let p = exp(Ss[r * BKV + jj] - mb);
      l += p;
      var pw = p;
      if (u.drop_threshold != 0u) { pw = p * Ws[r * BKV + jj]; }
      for (var t = 0u; t < DPT; t++) { acc[t] = fma(pw, Vs[jj * DP + lane + t * LANES], acc[t]); }
    }
    m = mb;
  }

  if (i < T) {
    var inv = 0.0;
    if (l > 0.0) { inv = 1.0 / l; }
    for (var t = 0u; t < DPT; t++) {
      let d = lane + t * LANES;
      if (d < D) { out[row_at(u.lo, b, h, i) + d] = acc[t] * inv; }
    }
    // (a row with no allowed key: +huge, so the backward's p = exp(s - lse) is 0)
    if (u.write_lse != 0u && lane == 0u) {
      var lse = 3.0e38;
      if (l > 0.0) { lse = m + log(l); }
      lse_out[bh * T + i] = lse;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Masked row softmax of precomputed scores s = q k^T [B * H * T, T] (software adapters compute
// attention as matmul -> masked_softmax -> matmul, since there every workgroup-memory load of the
// fused kernel is a per-invocation loop). p[row, j] = softmax_j(scale * s[row, j]) over allowed
// keys, 0 elsewhere, and a row with no allowed key is all zeros; with dropout, times keep_factor.
// One workgroup per row.

override WG_SM: u32 = 16u;

@group(0) @binding(1) var<storage, read> scores: array<f32>;

var<workgroup> red_max: array<f32, WG_SM>;
var<workgroup> red_sum: array<f32, WG_SM>;

fn key_allowed(b: u32, i: u32, j: u32) -> bool {
  if (u.causal != 0u && j > i) { return false; }
  if (u.window > 0u && j + u.window <= i) { return false; }
  if (u.has_mask != 0u) {
    var bits = key_mask[b * u.T + j];
    if (u.mask_float != 0u) { bits = bits & 0x7fffffffu; }
    return bits != 0u;
  }
  return true;
}

@compute @workgroup_size(WG_SM)
fn masked_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let T = u.T;
  if (row >= u.B * u.H * T) { return; }
  let i = row % T;
  let b = row / (T * u.H);
  let base = row * T;
  let NEG_INF = f32_bits(0xff800000u);
  var m = NEG_INF;
  for (var j = lid; j < T; j += WG_SM) {
    if (key_allowed(b, i, j)) { m = max(m, scores[base + j] * u.scale); }
  }
  // Separate arrays per reduction: see the llvmpipe note in softmax.wgsl.
  red_max[lid] = m;
  workgroupBarrier();
  for (var s = WG_SM / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_max[lid] = max(red_max[lid], red_max[lid + s]); }
    workgroupBarrier();
  }
  m = red_max[0];
  var l = 0.0;
  if (m != NEG_INF) {
    for (var j = lid; j < T; j += WG_SM) {
      if (key_allowed(b, i, j)) { l += exp(scores[base + j] * u.scale - m); }
    }
  }
  red_sum[lid] = l;
  workgroupBarrier();
  for (var s = WG_SM / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_sum[lid] = red_sum[lid] + red_sum[lid + s]; }
    workgroupBarrier();
  }
  l = red_sum[0];
  var inv = 0.0;
  if (l > 0.0) { inv = 1.0 / l; }
  for (var j = lid; j < T; j += WG_SM) {
    var p = 0.0;
    if (inv > 0.0 && key_allowed(b, i, j)) { p = exp(scores[base + j] * u.scale - m) * inv; }
    if (u.drop_threshold != 0u) { p = p * keep_factor(row, j); }
    out[base + j] = p;
  }
}
