// Per-row cross entropy of logits [R, V] with int32 labels [R]:
// loss[r] = logsumexp(logits[r]) - logits[r, labels[r]], 0 where labels[r] == ignore_index,
// NaN for any other label outside [0, V) (the engine validates labels it knows on the host).
// One workgroup per row with workgroup tree reductions.

override WG: u32 = 256u;

struct Params {
  R: u32,
  V: u32,
  ignore_index: i32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

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

@compute @workgroup_size(WG)
fn crossEntropy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let label = labels[row];
  if (label == u.ignore_index) {
    if (lid == 0u) { y[row] = 0.0; }
    return;
  }
  let base = row * u.V;
  var m = f32_bits(0xff800000u);
  for (var c = lid; c < u.V; c += WG) { m = max(m, x[base + c]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var c = lid; c < u.V; c += WG) { s += exp(x[base + c] - m); }
  s = reduce_sum(s, lid);
  if (lid == 0u) {
    if (label >= 0 && u32(label) < u.V) {
      y[row] = m + log(s) - x[base + u32(label)];
    } else {
      y[row] = f32_bits(0x7fc00000u);
    }
  }
}
