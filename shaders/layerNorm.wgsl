// Layer norm over rows of x [R, C]: y = (x - mean) / sqrt(var + eps) * w + b, biased variance.
// One workgroup per row; mean and variance by two workgroup tree reductions (two-pass variance).

override WG: u32 = 256u;

struct Params {
  R: u32,
  C: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Each reduction uses its own workgroup array: Mesa's llvmpipe was seen to re-load a reduction's
// result from workgroup memory after a later barrier, so an array must not be reused once read.
var<workgroup> red_mean: array<f32, WG>;
var<workgroup> red_var: array<f32, WG>;

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

@compute @workgroup_size(WG)
fn layerNorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let base = row * u.C;
  let n = f32(u.C);
  var s = 0.0;
  for (var c = lid; c < u.C; c += WG) { s += x[base + c]; }
  let mean = sum_mean(s, lid) / n;
  var q = 0.0;
  for (var c = lid; c < u.C; c += WG) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let inv = 1.0 / sqrt(sum_var(q, lid) / n + u.eps);
  for (var c = lid; c < u.C; c += WG) {
    y[base + c] = (x[base + c] - mean) * inv * w[c] + b[c];
  }
}
