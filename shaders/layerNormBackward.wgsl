// First-order backward of layer norm over rows of x [R, C] (values only, never differentiated):
//   xhat = (x - mean) * rstd,  dxhat = g * w,
//   dx = rstd * (dxhat - mean_c(dxhat) - xhat * mean_c(dxhat * xhat)),
//   dw = sum_r g * xhat,  db = sum_r g.
// layer_norm_backward: one workgroup per row, writes dx and the row's (mean, rstd) to stats [R, 2].
// layer_norm_param_partials: thread per column, workgroup row y = one chunk of L rows, writes
//   partial [S, 2C] (dw parts then db parts) at chunk sbase + y.
// layer_norm_param_sum: thread per output of [2C], sums the S partials into dw and db.

override WG: u32 = 256u;
override WGC: u32 = 64u;

struct Params {
  R: u32,
  C: u32,
  eps: f32,
  // chunks: rows per chunk (L), chunk index of this piece's first chunk (sbase), total chunks (S)
  L: u32,
  sbase: u32,
  S: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read> stats_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;
@group(0) @binding(8) var<storage, read_write> dw: array<f32>;
@group(0) @binding(9) var<storage, read_write> db: array<f32>;

// One workgroup array per reduction (see layerNorm.wgsl: llvmpipe must not reuse one once read).
var<workgroup> red_mean: array<f32, WG>;
var<workgroup> red_var: array<f32, WG>;
var<workgroup> red_dxhat: array<f32, WG>;
var<workgroup> red_dot: array<f32, WG>;

fn sum_mean(v: f32, lid: u32) -> f32 {
  red_mean[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_mean[lid] = red_mean[lid] + red_mean[lid + s]; }
    workgroupBarrier();
  }
  return red_mean[0];
}

fn sum_var(v: f32, lid: u32) -> f32 {
  red_var[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_var[lid] = red_var[lid] + red_var[lid + s]; }
    workgroupBarrier();
  }
  return red_var[0];
}

fn sum_dxhat(v: f32, lid: u32) -> f32 {
  red_dxhat[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_dxhat[lid] = red_dxhat[lid] + red_dxhat[lid + s]; }
    workgroupBarrier();
  }
  return red_dxhat[0];
}

fn sum_dot(v: f32, lid: u32) -> f32 {
  red_dot[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_dot[lid] = red_dot[lid] + red_dot[lid + s]; }
    workgroupBarrier();
  }
  return red_dot[0];
}

@compute @workgroup_size(WG)
fn layerNormBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // Every invocation reaches every barrier: surplus workgroups redo the last row and write nothing.
  let live = row < u.R;
  let base = min(row, u.R - 1u) * u.C;
  let n = f32(u.C);
  var s = 0.0;
  for (var c = lid; c < u.C; c += WG) { s += x[base + c]; }
  let mean = sum_mean(s, lid) / n;
  var q = 0.0;
  for (var c = lid; c < u.C; c += WG) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let rstd = 1.0 / sqrt(sum_var(q, lid) / n + u.eps);
  var a = 0.0;
  var b = 0.0;
  for (var c = lid; c < u.C; c += WG) {
    let dxhat = g[base + c] * w[c];
    a += dxhat;
    b += dxhat * (x[base + c] - mean) * rstd;
  }
  let mean_dxhat = sum_dxhat(a, lid) / n;
  let mean_dot = sum_dot(b, lid) / n;
  if (!live) { return; }
  for (var c = lid; c < u.C; c += WG) {
    let xhat = (x[base + c] - mean) * rstd;
    dx[base + c] = rstd * (g[base + c] * w[c] - mean_dxhat - xhat * mean_dot);
  }
  if (lid == 0u) {
    stats[2u * row] = mean;
    stats[2u * row + 1u] = rstd;
  }
}

@compute @workgroup_size(WGC)
fn layerNormBackwardParamPartials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = gid.x;
  if (c >= u.C) { return; }
  let r0 = wid.y * u.L;
  let r1 = min(u.R, r0 + u.L);
  var acc_w = 0.0;
  var acc_b = 0.0;
  for (var r = r0; r < r1; r++) {
    let gv = g[r * u.C + c];
    acc_w += gv * (x[r * u.C + c] - stats_in[2u * r]) * stats_in[2u * r + 1u];
    acc_b += gv;
  }
  let out = (u.sbase + wid.y) * 2u * u.C;
  partial[out + c] = acc_w;
  partial[out + u.C + c] = acc_b;
}

@compute @workgroup_size(WGC)
fn layerNormBackwardParamSum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= 2u * u.C) { return; }
  var acc = 0.0;
  for (var s = 0u; s < u.S; s++) { acc += partial[s * 2u * u.C + i]; }
  if (i < u.C) { dw[i] = acc; } else { db[i - u.C] = acc; }
}
