// Row indexing by int32 indices: gather (rows of table [N, D]), one_hot, and a deterministic
// scatter-add (out [N, D] = 0; out[idx[m]] += src[m]) in two steps without atomics:
//   scatter_links: for each m, links[m] = the next m' > m with idx[m'] == idx[m] (or -1) and
//                  links[M + m] = 1 when m is the first occurrence of its index;
//   scatter_rows:  each first occurrence sums its chain of rows in order of m and writes the
//                  output row (rows never indexed keep the zeros written beforehand).
// Indices outside [0, N) never read or write out of bounds: gather writes a zero row, scatter
// skips the row, one_hot writes a zero row. The host prepends `alias T = f32|i32;`.

override WG: u32 = 256u;

struct Params {
  N: u32,
  D: u32,
  M: u32,
  C: u32,
  // Large tables / outputs are bound in windows of rows [base, base + N) (see engine/webgpu/windows.ts).
  base: u32,
  // gather: write zero rows for indices outside the window (the first window of a split table).
  zero_others: u32,
  // scatter_rows: add to y instead of overwriting it (sources split into several pieces).
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<T>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> links: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

var<workgroup> tile: array<i32, WG>;

fn linear(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + lid;
}

// y [M, D] = src [N, D] rows idx[m] (src holding table rows [base, base + N)).
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let t = linear(wid, nwg, lid);
  if (t >= u.M * u.D) { return; }
  let m = t / u.D;
  let d = t % u.D;
  let r = idx[m] - i32(u.base);
  if (r >= 0 && u32(r) < u.N) {
    y[t] = src[u32(r) * u.D + d];
  } else if (u.zero_others != 0u) {
    y[t] = T(0);
  }
}

// y [M, C]: 1 at (m, idx[m]) when 0 <= idx[m] < C.
@compute @workgroup_size(WG)
fn oneHot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let t = linear(wid, nwg, lid);
  if (t >= u.M * u.C) { return; }
  let m = t / u.C;
  let col = i32(t % u.C);
  y[t] = select(T(0), T(1), idx[m] == col);
}

// One thread per m; the index array is walked in workgroup-sized tiles through workgroup memory.
@compute @workgroup_size(WG)
fn scatterAddLinks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let m = linear(wid, nwg, lid);
  let in_range = m < u.M;
  var mine = -1;
  if (in_range) { mine = idx[m]; }
  var first = true;
  var next = -1;
  for (var t0 = 0u; t0 < u.M; t0 += WG) {
    workgroupBarrier();
    if (t0 + lid < u.M) { tile[lid] = idx[t0 + lid]; }
    workgroupBarrier();
    let cnt = min(WG, u.M - t0);
    for (var j = 0u; j < cnt; j++) {
      let o = t0 + j;
      if (tile[j] == mine) {
        if (o < m) { first = false; }
        if (o > m && next < 0) { next = i32(o); }
      }
    }
  }
  if (in_range) {
    links[m] = next;
    links[u.M + m] = select(0, 1, first);
  }
}

// One thread per (m, d): first occurrences sum their chain into the output row (y holding output
// rows [base, base + N)).
@compute @workgroup_size(WG)
fn scatterAdd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = linear(wid, nwg, lid);
  if (t >= u.M * u.D) { return; }
  let m = t / u.D;
  let d = t % u.D;
  let r = idx[m] - i32(u.base);
  if (links[u.M + m] == 0 || r < 0 || u32(r) >= u.N) { return; }
  var acc = T(0);
  var j = i32(m);
  loop {
    acc += src[u32(j) * u.D + d];
    j = links[u32(j)];
    if (j < 0) { break; }
  }
  let o = u32(r) * u.D + d;
  if (u.accumulate != 0u) { y[o] += acc; } else { y[o] = acc; }
}
