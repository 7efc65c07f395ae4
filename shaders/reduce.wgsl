// Reductions (sum / max / min) of x viewed as [outer, R, inner] over R.
// The reduced range is cut into S chunks of length L (chunk s covers [s*L, min(R, s*L + L))), so a
// long reduction can be split across workgroups; the output is [outer, S, inner].
// reduce_rows (inner == 1): one workgroup per (outer, chunk), tree reduction in workgroup memory.
// reduce_cols: one thread per (outer, chunk, inner) output, a loop over the chunk (coalesced
// across inner). The host prepends `alias T = f32|i32;`; the op is the override constant OP.

override WG: u32 = 256u;
// 0 sum, 1 max, 2 min
override OP: u32 = 0u;

struct Params {
  outer: u32,
  R: u32,
  inner: u32,
  L: u32,
  S: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

var<workgroup> sh: array<T, WG>;

fn combine(p: T, q: T) -> T {
  switch OP {
    case 0u: { return p + q; }
    case 1u: { return max(p, q); }
    default: { return min(p, q); }
  }
}

@compute @workgroup_size(WG)
fn reduceRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= u.outer * u.S) { return; } // uniform across the workgroup
  let o = g / u.S;
  let s = g % u.S;
  let start = s * u.L;
  let end = min(u.R, start + u.L);
  let base = o * u.R;
  var acc: T;
  if (OP == 0u) { acc = T(0); } else { acc = x[base + start]; }
  for (var r = start + lid; r < end; r += WG) {
    acc = combine(acc, x[base + r]);
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      sh[lid] = combine(sh[lid], sh[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[g] = sh[0];
  }
}

@compute @workgroup_size(WG)
fn reduceCols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= u.outer * u.S * u.inner) { return; }
  let j = t % u.inner;
  let g = t / u.inner;
  let s = g % u.S;
  let o = g / u.S;
  let start = s * u.L;
  let end = min(u.R, start + u.L);
  var idx = (o * u.R + start) * u.inner + j;
  var acc: T;
  if (OP == 0u) { acc = T(0); } else { acc = x[idx]; }
  for (var r = start; r < end; r++) {
    acc = combine(acc, x[idx]);
    idx += u.inner;
  }
  y[t] = acc;
}
