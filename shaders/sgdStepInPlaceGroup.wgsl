// In-place SGD on a group of up to 7 (param, grad) pairs in one dispatch: p -= lr * g.
// The pairs' elements are laid end to end: ends[t] is the exclusive end of pair t in that
// concatenation (unused pairs have zero length and are bound to scratch buffers). One invocation
// per element; it finds its pair by comparing against ends and updates that pair's binding.
// (Storage bindings cannot be indexed, hence the switch; 14 bindings fit the 16 of any adapter.)

override WG: u32 = 256u;

struct Params {
  total: u32,
  lr: f32,
  ends: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> p0: array<f32>;
@group(0) @binding(2) var<storage, read> g0: array<f32>;
@group(0) @binding(3) var<storage, read_write> p1: array<f32>;
@group(0) @binding(4) var<storage, read> g1: array<f32>;
@group(0) @binding(5) var<storage, read_write> p2: array<f32>;
@group(0) @binding(6) var<storage, read> g2: array<f32>;
@group(0) @binding(7) var<storage, read_write> p3: array<f32>;
@group(0) @binding(8) var<storage, read> g3: array<f32>;
@group(0) @binding(9) var<storage, read_write> p4: array<f32>;
@group(0) @binding(10) var<storage, read> g4: array<f32>;
@group(0) @binding(11) var<storage, read_write> p5: array<f32>;
@group(0) @binding(12) var<storage, read> g5: array<f32>;
@group(0) @binding(13) var<storage, read_write> p6: array<f32>;
@group(0) @binding(14) var<storage, read> g6: array<f32>;

fn pair_end(t: u32) -> u32 {
  return u.ends[t / 4u][t % 4u];
}

@compute @workgroup_size(WG)
fn sgdStepInPlaceGroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= u.total) { return; }
  var t = 0u;
  var start = 0u;
  while (t < 6u && i >= pair_end(t)) {
    start = pair_end(t);
    t++;
  }
  let j = i - start;
  switch t {
    case 0u: { p0[j] = p0[j] - u.lr * g0[j]; }
    case 1u: { p1[j] = p1[j] - u.lr * g1[j]; }
    case 2u: { p2[j] = p2[j] - u.lr * g2[j]; }
    case 3u: { p3[j] = p3[j] - u.lr * g3[j]; }
    case 4u: { p4[j] = p4[j] - u.lr * g4[j]; }
    case 5u: { p5[j] = p5[j] - u.lr * g5[j]; }
    default: { p6[j] = p6[j] - u.lr * g6[j]; }
  }
}
