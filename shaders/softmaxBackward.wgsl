// First-order backward of row softmax (values only): dx = y * (g - sum_c g*y), y = softmax output.
// One workgroup per row; every invocation reaches every barrier.

override WG: u32 = 256u;

struct Params {
  R: u32,
  C: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> red_dot: array<f32, WG>;

@compute @workgroup_size(WG)
fn softmaxBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.R;
  let base = min(row, u.R - 1u) * u.C;
  var d = 0.0;
  for (var c = lid; c < u.C; c += WG) { d += g[base + c] * y[base + c]; }
  red_dot[lid] = d;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red_dot[lid] = red_dot[lid] + red_dot[lid + s]; }
    workgroupBarrier();
  }
  let dot = red_dot[0];
  if (!live) { return; }
  for (var c = lid; c < u.C; c += WG) { dx[base + c] = y[base + c] * (g[base + c] - dot); }
}
