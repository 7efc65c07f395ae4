// Fused first-order attention backward (flash style, the T x T probabilities never stored) for
// q, k, v, out, g = dout [B, H, T, D], with the forward's masks (attention.wgsl): key j is allowed
// for query i iff (!causal || j <= i) and (window == 0 || i - j < window) and (no mask ||
// keyMask[b, j] != 0). With s_ij = scale q_i·k_j and p = softmax_j over allowed keys:
//   D_i = g_i · out_i,  ds_ij = p_ij (g_i·v_j − D_i),
//   dq_i = scale Σ_j ds_ij k_j,  dk_j = scale Σ_i ds_ij q_i,  dv_j = Σ_i p_ij g_i.
// Two kernels. attention_bwd_dq: one workgroup per (query block of BQ rows, b * H + h), LANES
// threads per query; a first pass over key tiles finds the row's logsumexp, a second accumulates
// dq; it writes lse and D per row to `stats` [2, B * H * T]. attention_bwd_dkv: one workgroup per
// (key block of BQ rows, b * H + h); it visits the query tiles that can see the block and
// accumulates dk and dv from the stored lse and D. Each lane owns head dims lane, lane + LANES, …
//
// Dropout (drop_threshold != 0; attention.wgsl's keep_factor w_ij = M_ij / (1 − p), the forward
// out_i = Σ_j p_ij w_ij v_j): the gradient of the undropped p is dp_ij = w_ij g_i·v_j, and
// Σ_j p_ij dp_ij = g_i · out_i = D_i still (out is the dropped output), so
//   ds_ij = p_ij (w_ij g_i·v_j − D_i),  dv_j = Σ_i p_ij w_ij g_i,  dq, dk as above;
// lse is the undropped softmax's, so pass 1 and the forward's lse are unchanged.

override BQ: u32 = 16u;
override LANES: u32 = 8u;
override BKV: u32 = 32u;
override DPT: u32 = 8u;       // dims per lane, at most 32

override DP: u32 = LANES * DPT;     // padded head dim
override KSTRIDE: u32 = DP + 1u;    // padded row stride of the tiles read across rows

// Where row t of head h of sequence b starts (as in attention.wgsl): off + b sb + h sh + t st.
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
  kv_same: u32,   // dk and dv are written through the dk binding (one packed gradient)
  has_lse: u32,   // the forward's row logsumexp is given in lse_in (the dq kernel skips its first pass)
  _p2: u32,
  drop_threshold: u32,  // as attention.wgsl: 0 = no dropout
  drop_key: u32,
  drop_scale: f32,
  drop_base: u32,
  lq: Layout,
  lk: Layout,
  lv: Layout,
  lo: Layout,
  lg: Layout,
  ldq: Layout,
  ldk: Layout,
  ldv: Layout,
}

fn row_at(l: Layout, b: u32, h: u32, t: u32) -> u32 {
  return l.off + b * l.sb + h * l.sh + t * l.st;
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> key_mask: array<u32>;
@group(0) @binding(5) var<storage, read> o: array<f32>;
@group(0) @binding(6) var<storage, read> g: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> stats_w: array<f32>;
@group(0) @binding(9) var<storage, read> stats_r: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;
@group(0) @binding(12) var<storage, read> lse_in: array<f32>;

// Row tiles (BQ rows, one per query / key of the block) and column tiles (BKV rows, read by every lane).
var<workgroup> Ra: array<f32, BQ * DP>;
var<workgroup> Rb: array<f32, BQ * DP>;
var<workgroup> Ca: array<f32, BKV * KSTRIDE>;
var<workgroup> Cb: array<f32, BKV * KSTRIDE>;
var<workgroup> S1: array<f32, BQ * BKV>;
var<workgroup> S2: array<f32, BQ * BKV>;
var<workgroup> Cstat: array<f32, 2 * BKV>;
var<workgroup> red: array<f32, BQ * LANES>;

// Chris Wellons' lowbias32, as engine/random.ts mix32.
fn mix32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

// Dropout keep factor w_ij of probability (bh·T + i, j) (as attention.wgsl); 1 without dropout.
fn keep_factor(bh: u32, i: u32, j: u32) -> f32 {
  if (u.drop_threshold == 0u) { return 1.0; }
  let hv = mix32(u.drop_key + u.drop_base + (bh * u.T + i) * u.T + j) >> 8u;
  return select(0.0, u.drop_scale, hv >= u.drop_threshold);
}

fn allowed(b: u32, i: u32, j: u32) -> bool {
  let T = u.T;
  if (i >= T || j >= T) { return false; }
  if (u.causal != 0u && j > i) { return false; }
  if (u.window > 0u && j + u.window <= i) { return false; }
  if (u.has_mask != 0u) {
    var bits = key_mask[b * T + j];
    if (u.mask_float != 0u) { bits = bits & 0x7fffffffu; }
    return bits != 0u;
  }
  return true;
}

@compute @workgroup_size(BQ * LANES)
fn attention_bwd_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = u.T;
  let D = u.D;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let q0 = wid.x * BQ;
  let r = lid / LANES;
  let lane = lid % LANES;
  let i = q0 + r;

  // Query tile (pre-scaled) and g tile; D_i = g_i · out_i reduced over the lanes.
  for (var e = lid; e < BQ * DP; e += BQ * LANES) {
    let rr = e / DP;
    let dd = e % DP;
    var qv = 0.0;
    var gv = 0.0;
    if (q0 + rr < T && dd < D) {
      qv = q[row_at(u.lq, b, h, q0 + rr) + dd] * u.scale;
      gv = g[row_at(u.lg, b, h, q0 + rr) + dd];
    }
    Ra[e] = qv;
    Rb[e] = gv;
  }
  var part = 0.0;
  if (i < T) {
    for (var t = 0u; t < DPT; t++) {
      let d = lane + t * LANES;
      if (d < D) { part = fma(g[row_at(u.lg, b, h, i) + d], o[row_at(u.lo, b, h, i) + d], part); }
    }
  }
  red[lid] = part;

  let q_last = min(T, q0 + BQ) - 1u;
  var k_begin = 0u;
  if (u.window > 0u && q0 + 1u > u.window) { k_begin = q0 + 1u - u.window; }
  var k_end = T;
  if (u.causal != 0u) { k_end = min(T, q_last + 1u); }
  workgroupBarrier();
  var Di = 0.0;
  for (var x = 0u; x < LANES; x++) { Di += red[r * LANES + x]; }

  var lse = 3.0e38;
  if (u.has_lse != 0u) {
    if (i < T) { lse = lse_in[bh * T + i]; }
  } else {
    // Pass 1: the row's max and sum of exp (lanes split the keys, then combine through S1 / S2).
    var m = -3.0e38;
    var l = 0.0;
    for (var k0 = k_begin; k0 < k_end; k0 += BKV) {
      workgroupBarrier();
      for (var e = lid; e < BKV * DP; e += BQ * LANES) {
        let jj = e / DP;
        let dd = e % DP;
        let j = k0 + jj;
        var kv = 0.0;
        if (j < T && dd < D) { kv = k[row_at(u.lk, b, h, j) + dd]; }
        Ca[jj * KSTRIDE + dd] = kv;
      }
      workgroupBarrier();
      for (var jj = lane; jj < BKV; jj += LANES) {
        let j = k0 + jj;
        if (allowed(b, i, j)) {
          var dot = 0.0;
          for (var d = 0u; d < DP; d++) { dot = fma(Ra[r * DP + d], Ca[jj * KSTRIDE + d], dot); }
          let mb = max(m, dot);
          l = l * exp(m - mb) + exp(dot - mb);
          m = mb;
        }
      }
    }
    workgroupBarrier();
    S1[r * BKV + lane] = m;
    S2[r * BKV + lane] = l;
    workgroupBarrier();
    var mr = -3.0e38;
    for (var x = 0u; x < LANES; x++) { mr = max(mr, S1[r * BKV + x]); }
    var lr = 0.0;
    for (var x = 0u; x < LANES; x++) { lr += S2[r * BKV + x] * exp(S1[r * BKV + x] - mr); }
    // A row with no allowed key: lse = +huge so every p is 0.
    if (lr > 0.0) { lse = mr + log(lr); }
  }
  if (i < T && lane == 0u) {
    stats_w[bh * T + i] = lse;
    stats_w[u.B * u.H * T + bh * T + i] = Di;
  }

  // Pass 2: ds for the lane's keys, then dq over the tile's keys.
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
      Ca[jj * KSTRIDE + dd] = kv;
      Cb[jj * KSTRIDE + dd] = vv;
    }
    workgroupBarrier();
    for (var jj = lane; jj < BKV; jj += LANES) {
      let j = k0 + jj;
      var ds = 0.0;
      if (allowed(b, i, j)) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < DP; d++) {
          s = fma(Ra[r * DP + d], Ca[jj * KSTRIDE + d], s);
          dp = fma(Rb[r * DP + d], Cb[jj * KSTRIDE + d], dp);
        }
        ds = exp(s - lse) * (keep_factor(bh, i, j) * dp - Di);
      }
      S1[r * BKV + jj] = ds;
    }
    workgroupBarrier();
    for (var jj = 0u; jj < BKV; jj++) {
      let ds = S1[r * BKV + jj];
      for (var t = 0u; t < DPT; t++) { acc[t] = fma(ds, Ca[jj * KSTRIDE + lane + t * LANES], acc[t]); }
    }
  }
  if (i < T) {
    for (var t = 0u; t < DPT; t++) {
      let d = lane + t * LANES;
      if (d < D) { dq[row_at(u.ldq, b, h, i) + d] = acc[t] * u.scale; }
    }
  }
}

@compute @workgroup_size(BQ * LANES)
fn attention_bwd_dkv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = u.T;
  let D = u.D;
  let bh = wid.y;
  let b = bh / u.H;
  let h = bh % u.H;
  let BHT = u.B * u.H * T;
  let j0 = wid.x * BQ;
  let r = lid / LANES;
  let lane = lid % LANES;
  let j = j0 + r;

  // This block's keys and values.
  for (var e = lid; e < BQ * DP; e += BQ * LANES) {
    let rr = e / DP;
    let dd = e % DP;
    var kv = 0.0;
    var vv = 0.0;
    if (j0 + rr < T && dd < D) {
      kv = k[row_at(u.lk, b, h, j0 + rr) + dd];
      vv = v[row_at(u.lv, b, h, j0 + rr) + dd];
    }
    Ra[e] = kv;
    Rb[e] = vv;
  }

  // Queries that can see a key of the block: i >= j0 (causal), i < j_last + window.
  let j_last = min(T, j0 + BQ) - 1u;
  var q_begin = 0u;
  if (u.causal != 0u) { q_begin = j0; }
  var q_end = T;
  if (u.window > 0u) { q_end = min(T, j_last + u.window); }

  var acc_k: array<f32, 32>;
  var acc_v: array<f32, 32>;
  for (var t = 0u; t < DPT; t++) {
    acc_k[t] = 0.0;
    acc_v[t] = 0.0;
  }
  for (var i0 = q_begin; i0 < q_end; i0 += BKV) {
    workgroupBarrier();
    for (var e = lid; e < BKV * DP; e += BQ * LANES) {
      let ii = e / DP;
      let dd = e % DP;
      let i = i0 + ii;
      var qv = 0.0;
      var gv = 0.0;
      if (i < T && dd < D) {
        qv = q[row_at(u.lq, b, h, i) + dd] * u.scale;
        gv = g[row_at(u.lg, b, h, i) + dd];
      }
      Ca[ii * KSTRIDE + dd] = qv;
      Cb[ii * KSTRIDE + dd] = gv;
    }
    for (var ii = lid; ii < BKV; ii += BQ * LANES) {
      let i = i0 + ii;
      var lse = 3.0e38;
      var di = 0.0;
      if (i < T) {
        lse = stats_r[bh * T + i];
        di = stats_r[BHT + bh * T + i];
      }
      Cstat[ii] = lse;
      Cstat[BKV + ii] = di;
    }
    workgroupBarrier();
    for (var ii = lane; ii < BKV; ii += LANES) {
      let i = i0 + ii;
      var p = 0.0;
      var ds = 0.0;
      if (allowed(b, i, j)) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < DP; d++) {
          s = fma(Ca[ii * KSTRIDE + d], Ra[r * DP + d], s);
          dp = fma(Cb[ii * KSTRIDE + d], Rb[r * DP + d], dp);
        }
        let w = keep_factor(bh, i, j);
        let pu = exp(s - Cstat[ii]);
        p = pu * w;  // the dropped probability, for dv
        ds = pu * (w * dp - Cstat[BKV + ii]);
      }
      S1[r * BKV + ii] = p;
      S2[r * BKV + ii] = ds;
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BKV; ii++) {
      let p = S1[r * BKV + ii];
      let ds = S2[r * BKV + ii];
      for (var t = 0u; t < DPT; t++) {
        let d = lane + t * LANES;
        acc_v[t] = fma(p, Cb[ii * KSTRIDE + d], acc_v[t]);
        acc_k[t] = fma(ds, Ca[ii * KSTRIDE + d], acc_k[t]);
      }
    }
  }
  if (j < T) {
    for (var t = 0u; t < DPT; t++) {
      let d = lane + t * LANES;
      if (d < D) {
        dk[row_at(u.ldk, b, h, j) + d] = acc_k[t];
        if (u.kv_same != 0u) {
          dk[row_at(u.ldv, b, h, j) + d] = acc_v[t];
        } else {
          dv[row_at(u.ldv, b, h, j) + d] = acc_v[t];
        }
      }
    }
  }
}
