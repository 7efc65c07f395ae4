// First-order vjp of the cross-entropy backward (engine/ops/fused.ts crossEntropyGrad), the backward
// of a recorded cross-entropy backward: for logits x [R, V], labels [R], the row scale g [R] and the
// cotangent u [R, V] of dx = (p − onehot) · g, p = softmax(x[r]):
//   xbar[r, c] = g[r] · p[r, c] · (u[r, c] − s[r]),  s[r] = Σ_c u[r, c] · p[r, c]
//   gbar[r]    = s[r] − u[r, label[r]]
// rows whose label is the ignore index are 0. One workgroup per row, four passes over the row (max,
// Σ exp, Σ u·exp, write): 3 reads of x, 2 of u, 1 write per element — the composite instead made six
// [R, V] temporaries. Every invocation reaches every barrier.

override WG: u32 = 256u;

struct Params {
  R: u32,
  V: u32,
  ignore_index: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> u: array<f32>;
@group(0) @binding(5) var<storage, read_write> xbar: array<f32>;
@group(0) @binding(6) var<storage, read_write> gbar: array<f32>;

// −inf from its bits through a function: a constant bitcast of −inf is a shader-creation error.
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

// One array per reduction (llvmpipe re-reads reduced values; see crossEntropy's kernel).
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sum: array<f32, WG>;
var<workgroup> red_dot: array<f32, WG>;

@compute @workgroup_size(WG)
fn crossEntropyGradBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < params.R;
  let r = min(row, params.R - 1u);
  let base = r * params.V;
  var m = f32_bits(0xff800000u);
  for (var c = lid; c < params.V; c += WG) { m = max(m, x[base + c]); }
  red_max[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_max[lid] = max(red_max[lid], red_max[lid + s]); }
    workgroupBarrier();
  }
  m = red_max[0];
  var t = 0.0;
  var d = 0.0;
  for (var c = lid; c < params.V; c += WG) {
    let e = exp(x[base + c] - m);
    t += e;
    d += e * u[base + c];
  }
  red_sum[lid] = t;
  red_dot[lid] = d;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      red_sum[lid] = red_sum[lid] + red_sum[lid + s];
      red_dot[lid] = red_dot[lid] + red_dot[lid + s];
    }
    workgroupBarrier();
  }
  let z = red_sum[0];
  let s_row = red_dot[0] / z; // s[r]
  if (!live) { return; }
  let label = labels[r];
  if (label == params.ignore_index) {
    for (var c = lid; c < params.V; c += WG) { xbar[base + c] = 0.0; }
    if (lid == 0u) { gbar[r] = 0.0; }
    return;
  }
  let scale = g[r] / z;
  for (var c = lid; c < params.V; c += WG) {
    xbar[base + c] = exp(x[base + c] - m) * scale * (u[base + c] - s_row);
  }
  if (lid == 0u) { gbar[r] = s_row - u[base + u32(label)]; }
}
