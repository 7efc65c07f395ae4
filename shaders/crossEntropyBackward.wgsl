// Backward of per-row cross entropy: dx[r, c] = (softmax(x[r])[c] - [c == labels[r]]) * g[r]; rows
// whose label is the ignore index are 0. The forward of the engine's differentiable
// crossEntropyGrad op (engine/ops/fused.ts), whose own vjp is made of ops. One workgroup per row; every invocation reaches every barrier.

override WG: u32 = 256u;

struct Params {
  R: u32,
  V: u32,
  ignore_index: i32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

// One array per reduction (see crossEntropy.wgsl on llvmpipe re-reading reduced values).
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;

@compute @workgroup_size(WG)
fn crossEntropyBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.R;
  let r = min(row, u.R - 1u);
  let base = r * u.V;
  var m = f32_bits(0xff800000u);
  for (var c = lid; c < u.V; c += WG) { m = max(m, x[base + c]); }
  red_max[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_max[lid] = max(red_max[lid], red_max[lid + s]); }
    workgroupBarrier();
  }
  m = red_max[0];
  var t = 0.0;
  for (var c = lid; c < u.V; c += WG) { t += exp(x[base + c] - m); }
  red_sum[lid] = t;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_sum[lid] = red_sum[lid] + red_sum[lid + s]; }
    workgroupBarrier();
  }
  let total = red_sum[0];
  if (!live) { return; }
  let label = labels[r];
  if (label == u.ignore_index) {
    for (var c = lid; c < u.V; c += WG) { dx[base + c] = 0.0; }
    return;
  }
  let gr = g[r];
  let scale = gr / total;
  for (var c = lid; c < u.V; c += WG) {
    var v = exp(x[base + c] - m) * scale;
    if (i32(c) == label) { v = v - gr; }
    dx[base + c] = v;
  }
}
