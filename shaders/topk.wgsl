// Row top-k of x [R, C] (engine/backend.ts `topk`): values [R, k] (x's bits) and int32 column
// indices [R, k], best first; ties to the lower index; NaN below every number, NaNs by index.
//
// One workgroup per row, one pass per KMAX output columns. A pass writes columns
// [col0, col0 + kk): the best kk elements of the row among those ranked after the pivot, the
// element the previous pass wrote last (read back from the outputs at column col0 - 1). Each
// invocation keeps a sorted private list of its best kk elements over the columns it strides
// (ascending, so an insertion only passes strictly worse entries); then kk rounds pick the best
// list head of the workgroup by a tree reduction (value bits and index in workgroup memory) and
// the winner's owner advances its head. Values are moved as bits (u32), never as floats, so they
// come out exactly as they went in (denormals, -0, NaN payloads).

override WG: u32 = 16u;
const KMAX: u32 = 64u;
const NONE: u32 = 0xffffffffu; // empty slot: ranks below everything

struct Params {
  R: u32,
  C: u32,
  k: u32,    // output columns per row
  col0: u32, // first column of this pass
  kk: u32,   // columns this pass writes (1..KMAX)
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> vals: array<u32>;
@group(0) @binding(3) var<storage, read_write> idxs: array<i32>;

fn is_nan(b: u32) -> bool {
  return (b & 0x7fffffffu) > 0x7f800000u;
}

// Element (bits va, index ia) ranks before (vb, ib).
fn before(va: u32, ia: u32, vb: u32, ib: u32) -> bool {
  if (ib == NONE) { return ia != NONE; }
  if (ia == NONE) { return false; }
  let an = is_nan(va);
  let bn = is_nan(vb);
  if (an || bn) {
    if (an && bn) { return ia < ib; }
    return bn;
  }
  let a = bitcast<f32>(va);
  let b = bitcast<f32>(vb);
  return a > b || (a == b && ia < ib);
}

// Two reduction buffers used in alternate rounds, so a round never overwrites what the previous
// one left for its readers (llvmpipe was seen to re-load workgroup values after a barrier).
var<workgroup> red_v: array<u32, 2u * WG>;
var<workgroup> red_i: array<u32, 2u * WG>;

@compute @workgroup_size(WG)
fn topk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let live = row < u.R; // every invocation reaches every barrier
  let base = row * u.C;
  let kk = u.kk;
  var pv = 0u;
  var pi = NONE; // no pivot: every element qualifies
  if (live && u.col0 > 0u) {
    pv = vals[row * u.k + u.col0 - 1u];
    pi = u32(idxs[row * u.k + u.col0 - 1u]);
  }

  var lv: array<u32, KMAX>;
  var li: array<u32, KMAX>;
  var n = 0u;
  if (live) {
    for (var c = lid; c < u.C; c += WG) {
      let v = x[base + c];
      if (pi != NONE && !before(pv, pi, v, c)) { continue; }
      if (n == kk && !before(v, c, lv[kk - 1u], li[kk - 1u])) { continue; }
      var j = n;
      if (n < kk) { n += 1u; } else { j = kk - 1u; }
      loop {
        if (j == 0u) { break; }
        if (!before(v, c, lv[j - 1u], li[j - 1u])) { break; }
        lv[j] = lv[j - 1u];
        li[j] = li[j - 1u];
        j -= 1u;
      }
      lv[j] = v;
      li[j] = c;
    }
  }

  var head = 0u;
  for (var r = 0u; r < kk; r += 1u) {
    let p = (r & 1u) * WG; // this round's half of the reduction buffers
    var hv = 0u;
    var hi = NONE;
    if (head < n) {
      hv = lv[head];
      hi = li[head];
    }
    red_v[p + lid] = hv;
    red_i[p + lid] = hi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
      if (lid < s && before(red_v[p + lid + s], red_i[p + lid + s], red_v[p + lid], red_i[p + lid])) {
        red_v[p + lid] = red_v[p + lid + s];
        red_i[p + lid] = red_i[p + lid + s];
      }
      workgroupBarrier();
    }
    let wv = red_v[p];
    let wi = red_i[p];
    if (live && lid == 0u) {
      vals[row * u.k + u.col0 + r] = wv;
      idxs[row * u.k + u.col0 + r] = i32(wi);
    }
    if (head < n && hi == wi) { head += 1u; }
    workgroupBarrier();
  }
}
