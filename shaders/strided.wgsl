// Strided elementwise kernels over an output shape of up to 6 dims (row-major output index i):
// copy (view -> contiguous), copy_into (view -> view), binary (two broadcast views), where, and
// pad (contiguous source placed in a larger contiguous output, the rest a constant).
// Operand a/b/c element (i0..ik) lives at offset + sum(i_j * stride_j); stride 0 broadcasts.
// The host prepends `alias T = f32|i32;`. The binary op is the override constant OP.

override WG: u32 = 256u;
// 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum, 6 pow, 7 eq, 8 ne, 9 lt, 10 le, 11 gt, 12 ge
override OP: u32 = 0u;

struct Params {
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<i32>, 2>,
  sb: array<vec4<i32>, 2>,
  sc: array<vec4<i32>, 2>,
  n: u32,
  ndim: u32,
  oa: i32,
  ob: i32,
  oc: i32,
  // where: 1 when the condition storage holds f32 bits (so -0.0 counts as zero)
  cond_float: u32,
  // element offset of the contiguous output (copy, binary, where)
  oy: u32,
  // pad: the bits of the pad value (as T)
  pad_bits: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> c: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

// Offsets of output element i in views a, b, c.
// A float from its bits (a function call, so infinities are not rejected by constant evaluation).
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

fn offsets(i: u32) -> vec3<i32> {
  var rem = i;
  var o = vec3<i32>(u.oa, u.ob, u.oc);
  var d = i32(u.ndim) - 1;
  loop {
    if (d < 0) { break; }
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let s = u.shape[q][r];
    let idx = i32(rem % s);
    rem = rem / s;
    o += idx * vec3<i32>(u.sa[q][r], u.sb[q][r], u.sc[q][r]);
    d -= 1;
  }
  return o;
}

fn linear(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

fn pow_f(p: f32, q: f32) -> f32 {
  if (q == 0.0) { return 1.0; }
  if (p == 0.0) {
    if (q > 0.0) { return select(0.0, p, fract(q * 0.5) != 0.0 && fract(q) == 0.0); }
    return f32_bits(0x7f800000u);
  }
  let m = pow(abs(p), q);
  if (p > 0.0) { return m; }
  if (fract(q) != 0.0) { return f32_bits(0x7fc00000u); }
  return select(m, -m, fract(q * 0.5) != 0.0);
}

fn binop(p: T, q: T) -> T {
  switch OP {
    case 0u: { return p + q; }
    case 1u: { return p - q; }
    case 2u: { return p * q; }
    case 3u: { return p / q; }
    case 4u: { return max(p, q); }
    case 5u: { return min(p, q); }
    case 6u: { return T(pow_f(f32(p), f32(q))); }
    case 7u: { return select(T(0), T(1), p == q); }
    case 8u: { return select(T(0), T(1), p != q); }
    case 9u: { return select(T(0), T(1), p < q); }
    case 10u: { return select(T(0), T(1), p <= q); }
    case 11u: { return select(T(0), T(1), p > q); }
    default: { return select(T(0), T(1), p >= q); }
  }
}

@compute @workgroup_size(WG)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= u.n) { return; }
  let o = offsets(i);
  y[u.oy + i] = a[o.x];
}

// y viewed through (oc, sc) receives a viewed through (oa, sa).
@compute @workgroup_size(WG)
fn copyInto(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= u.n) { return; }
  let o = offsets(i);
  y[o.z] = a[o.x];
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= u.n) { return; }
  let o = offsets(i);
  y[u.oy + i] = binop(a[o.x], b[o.y]);
}

@compute @workgroup_size(WG)
fn whereSelect(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= u.n) { return; }
  let o = offsets(i);
  var bits = c[o.z];
  if (u.cond_float != 0u) { bits = bits & 0x7fffffffu; }
  y[u.oy + i] = select(b[o.y], a[o.x], bits != 0u);
}

// pad: output coordinate (i0..ik) of u.shape takes a at oa + sum((i_j - before_j) * sa_j) when every
// i_j - before_j lies in [0, extent_j), else the pad value. before in sb, source extents in sc.
@compute @workgroup_size(WG)
fn pad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= u.n) { return; }
  var rem = i;
  var o = u.oa;
  var inside = true;
  var d = i32(u.ndim) - 1;
  loop {
    if (d < 0) { break; }
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let s = u.shape[q][r];
    let k = i32(rem % s) - u.sb[q][r];
    rem = rem / s;
    if (k < 0 || k >= u.sc[q][r]) { inside = false; }
    o += k * u.sa[q][r];
    d -= 1;
  }
  if (inside) {
    y[u.oy + i] = a[o];
  } else {
    y[u.oy + i] = bitcast<T>(u.pad_bits);
  }
}
