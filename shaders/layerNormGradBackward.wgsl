// First-order vjp of layer norm's dx (values only; the backward of a recorded layer-norm backward,
// e.g. the outer gradient of a CaMeLS meta step). Rows of x, g, dx (the layer-norm dx), u (its
// cotangent) [R, C], w [C]; with x̂ = (x − mean) r, r = (var + eps)^−½, ĝ = g w,
// LNdx(v) = r (v − mean v − x̂ mean(v x̂)), t = LNdx(u):
//   x̄ = −LNdx(r (mean(ĝ x̂) u + mean(u x̂) ĝ)) − r mean(u dx) x̂,  ḡ = w t,  gt = g t
// (w̄ = Σ_rows gt, summed by the reduce kernel). One workgroup per row.

override WG: u32 = 256u;

struct Params {
  R: u32,
  C: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> dx: array<f32>;
@group(0) @binding(5) var<storage, read> u: array<f32>;
@group(0) @binding(6) var<storage, read_write> x_bar: array<f32>;
@group(0) @binding(7) var<storage, read_write> g_bar: array<f32>;
@group(0) @binding(8) var<storage, read_write> gt: array<f32>;

// One workgroup array per reduction (llvmpipe must not reuse one once read; see layerNorm.wgsl).
var<workgroup> red_mean: array<f32, WG>;
var<workgroup> red_var: array<f32, WG>;
var<workgroup> red_four: array<vec4<f32>, WG>;
var<workgroup> red_two: array<vec2<f32>, WG>;

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

fn sum_four(v: vec4<f32>, lid: u32) -> vec4<f32> {
  red_four[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_four[lid] = red_four[lid] + red_four[lid + s]; }
    workgroupBarrier();
  }
  return red_four[0];
}

fn sum_two(v: vec2<f32>, lid: u32) -> vec2<f32> {
  red_two[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_two[lid] = red_two[lid] + red_two[lid + s]; }
    workgroupBarrier();
  }
  return red_two[0];
}

@compute @workgroup_size(WG)
fn layerNormGradBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                            @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  // Every invocation reaches every barrier: surplus workgroups redo the last row and write nothing.
  let live = row < p.R;
  let base = min(row, p.R - 1u) * p.C;
  let n = f32(p.C);
  var s0 = 0.0;
  for (var c = lid; c < p.C; c += WG) { s0 += x[base + c]; }
  let mean = sum_mean(s0, lid) / n;
  var q = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let r = 1.0 / sqrt(sum_var(q, lid) / n + p.eps);
  // (mean(ĝ x̂), mean u, mean(u x̂), mean(u dx))
  var acc = vec4<f32>(0.0);
  for (var c = lid; c < p.C; c += WG) {
    let xh = (x[base + c] - mean) * r;
    let uc = u[base + c];
    acc += vec4<f32>(g[base + c] * w[c] * xh, uc, uc * xh, uc * dx[base + c]);
  }
  let m = sum_four(acc, lid) / n;
  // v = r (m2 u + k ĝ): (mean v, mean(v x̂))
  var acc2 = vec2<f32>(0.0);
  for (var c = lid; c < p.C; c += WG) {
    let xh = (x[base + c] - mean) * r;
    let v = r * (m.x * u[base + c] + m.z * g[base + c] * w[c]);
    acc2 += vec2<f32>(v, v * xh);
  }
  let mv = sum_two(acc2, lid) / n;
  if (!live) { return; }
  for (var c = lid; c < p.C; c += WG) {
    let xh = (x[base + c] - mean) * r;
    let uc = u[base + c];
    let gc = g[base + c];
    let t = r * (uc - m.y - xh * m.z);
    let v = r * (m.x * uc + m.z * gc * w[c]);
    x_bar[base + c] = -r * (v - mv.x - xh * mv.y) - r * m.w * xh;
    g_bar[base + c] = w[c] * t;
    gt[base + c] = gc * t;
  }
}

// First-order vjp of layer norm's dw = Σ_rows g x̂ at cotangent a [C] (the w binding holds a):
//   x̄ = LNdx(a g),  ḡ = a x̂.  One workgroup per row.
@compute @workgroup_size(WG)
fn layerNormWeightGradBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < p.R;
  let base = min(row, p.R - 1u) * p.C;
  let n = f32(p.C);
  var s0 = 0.0;
  for (var c = lid; c < p.C; c += WG) { s0 += x[base + c]; }
  let mean = sum_mean(s0, lid) / n;
  var q = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let r = 1.0 / sqrt(sum_var(q, lid) / n + p.eps);
  var acc2 = vec2<f32>(0.0);
  for (var c = lid; c < p.C; c += WG) {
    let xh = (x[base + c] - mean) * r;
    let v = w[c] * g[base + c];
    acc2 += vec2<f32>(v, v * xh);
  }
  let mv = sum_two(acc2, lid) / n;
  if (!live) { return; }
  for (var c = lid; c < p.C; c += WG) {
    let xh = (x[base + c] - mean) * r;
    let v = w[c] * g[base + c];
    x_bar[base + c] = r * (v - mv.x - xh * mv.y);
    g_bar[base + c] = w[c] * xh;
  }
}
