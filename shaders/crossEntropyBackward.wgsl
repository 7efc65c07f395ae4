// Backwards of per-row cross entropy over logits x [R, V], p = softmax(x[r]); rows whose label is
// the ignore index give 0. One workgroup per row; every invocation reaches every barrier.
//   crossEntropyBackward:      dx[r, c] = (p[r, c] − [c == labels[r]]) · g[r] — the forward of the
//                              engine's differentiable crossEntropyGrad op (engine/ops/fused.ts)
//   crossEntropyGradBackward:  that op's first-order vjp at the cotangent cot [R, V] (the backward
//                              of a recorded cross-entropy backward):
//                              dx[r, c] = g[r] · p[r, c] · (cot[r, c] − s[r]),  s[r] = Σ_c cot · p,
//                              gbar[r] = s[r] − cot[r, label[r]]
//                              (3 reads of x, 2 of cot, 1 write per element; the composite it
//                              replaces made six [R, V] temporaries)
// Both share the row reductions below (row_max, then one vec2 sum).

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
// crossEntropyGradBackward only
@group(0) @binding(5) var<storage, read> cot: array<f32>;
@group(0) @binding(6) var<storage, read_write> gbar: array<f32>;

// −inf from its bits through a function: a constant bitcast of −inf is a shader-creation error.
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

// One array per reduction (see crossEntropy.wgsl on llvmpipe re-reading reduced values).
var<workgroup> red_max: array<f32, WG>;
var<workgroup> red_sums: array<vec2<f32>, WG>;

/** max over the row at `base` (all invocations get it). */
fn row_max(base: u32, lid: u32) -> f32 {
  var m = f32_bits(0xff800000u);
  for (var c = lid; c < u.V; c += WG) { m = max(m, x[base + c]); }
  red_max[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_max[lid] = max(red_max[lid], red_max[lid + s]); }
    workgroupBarrier();
  }
  return red_max[0];
}

/** Two sums over the workgroup of each invocation's partials (all invocations get them). */
fn row_sums(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red_sums[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_sums[lid] = red_sums[lid] + red_sums[lid + s]; }
    workgroupBarrier();
  }
  return red_sums[0];
}

@compute @workgroup_size(WG)
fn crossEntropyBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.R;
  let r = min(row, u.R - 1u);
  let base = r * u.V;
  let m = row_max(base, lid);
  var t = 0.0;
  for (var c = lid; c < u.V; c += WG) { t += exp(x[base + c] - m); }
  let total = row_sums(vec2<f32>(t, 0.0), lid).x;
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

@compute @workgroup_size(WG)
fn crossEntropyGradBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.R;
  let r = min(row, u.R - 1u);
  let base = r * u.V;
  let m = row_max(base, lid);
  var t = 0.0;
  var d = 0.0;
  for (var c = lid; c < u.V; c += WG) {
    let e = exp(x[base + c] - m);
    t += e;
    d += e * cot[base + c];
  }
  let sums = row_sums(vec2<f32>(t, d), lid);
  let z = sums.x;
  let s_row = sums.y / z; // s[r]
  if (!live) { return; }
  let label = labels[r];
  if (label == u.ignore_index) {
    for (var c = lid; c < u.V; c += WG) { dx[base + c] = 0.0; }
    if (lid == 0u) { gbar[r] = 0.0; }
    return;
  }
  let scale = g[r] / z;
  for (var c = lid; c < u.V; c += WG) {
    dx[base + c] = exp(x[base + c] - m) * scale * (cot[base + c] - s_row);
  }
  if (lid == 0u) { gbar[r] = s_row - cot[base + u32(label)]; }
}
