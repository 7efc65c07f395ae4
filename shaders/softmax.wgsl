// Row softmax / log-softmax of x [R, C]: one workgroup per row, workgroup tree reductions for the
// row max and the sum of exp(x - max), then one write pass.

override WG: u32 = 256u;

struct Params {
  R: u32,
  C: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// A float from its bits (a function call, so infinities are not rejected by constant evaluation).
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

// Each reduction uses its own workgroup array: Mesa's llvmpipe was seen to re-load a reduction's
// result from workgroup memory after a later barrier, so an array must not be reused once read.
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  red_max[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_max[lid] = max(red_max[lid], red_max[lid + s]); }
    workgroupBarrier();
  }
  return red_max[0];
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  red_sum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_sum[lid] = red_sum[lid] + red_sum[lid + s]; }
    workgroupBarrier();
  }
  return red_sum[0];
}

// Row max and sum(exp(x - max)) of row `row`.
fn row_stats(row: u32, lid: u32) -> vec2<f32> {
  let base = row * u.C;
  var m = f32_bits(0xff800000u); // -inf
  for (var c = lid; c < u.C; c += WG) { m = max(m, x[base + c]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var c = lid; c < u.C; c += WG) { s += exp(x[base + c] - m); }
  s = reduce_sum(s, lid);
  return vec2<f32>(m, s);
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let st = row_stats(row, lid);
  let base = row * u.C;
  let inv = 1.0 / st.y;
  for (var c = lid; c < u.C; c += WG) { y[base + c] = exp(x[base + c] - st.x) * inv; }
}

@compute @workgroup_size(WG)
fn logSoftmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let st = row_stats(row, lid);
  let base = row * u.C;
  let lse = log(st.y);
  for (var c = lid; c < u.C; c += WG) { y[base + c] = x[base + c] - st.x - lse; }
}
