// Elementwise unary map y[i] = op(x[i]) (unary ops and casts), four elements per invocation
// (vec4 loads and stores; storage buffers are allocated in multiples of 256 bytes, so the last
// vec4 may run past n inside the allocation and its extra lanes are ignored).
// The host (engine/webgpu/elementwise.ts) prepends `alias TI = f32|i32; alias TO = f32|i32;` and
// replaces the OP_BODY marker inside `op` with the op's body (the only text substitution).
// Uniform p0, p1 are the op's scalar parameters.
// gelu_backward: dx[i] = g[i] * gelu'(x[i]) for the first-order backward (GRAD 0: gelu_tanh,
// 1: gelu_erf); its pipelines use the identity op body and f32 aliases.
// add_scaled: y[i] = x[i] + p0 * g[i] (the functional SGD step), same pipeline setup.
// gelu_second: y[i] = g[i] g2[i] gelu''(x[i]) (GRAD as above), same pipeline setup.

override WG: u32 = 256u;

struct Params {
  n: u32,
  p0: f32,
  p1: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<TI>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<TO>>;
@group(0) @binding(3) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> g2: array<vec4<f32>>;

override GRAD: u32 = 0u;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const FRAC_1_SQRT_2: f32 = 0.7071067811865476;
const FRAC_2_SQRT_PI: f32 = 1.1283791670955126;

// tanh without the cancellation of (e^2x - 1)/(e^2x + 1) near 0 and without overflow.
// A float from its bits (a function call, so infinities are not rejected by constant evaluation).
fn f32_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}

fn tanh_f(v: f32) -> f32 {
  let a = abs(v);
  if (a < 0.125) {
    let s = v * v;
    return v * (1.0 + s * (-0.3333333333 + s * (0.1333333333 + s * (-0.0539682540 + s * 0.0218694885))));
  }
  let t = 1.0 - 2.0 / (exp(min(2.0 * a, 88.0)) + 1.0);
  return select(t, -t, v < 0.0);
}

fn sigmoid_f(v: f32) -> f32 {
  if (v >= 0.0) {
    return 1.0 / (1.0 + exp(-v));
  }
  let e = exp(v);
  return e / (1.0 + e);
}

// erfc for z >= 0: Chebyshev fit (Numerical Recipes' erfcc), fractional error < 1.2e-7.
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
          t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
          t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p);
}

// erf: Maclaurin series for |x| < 0.5 (relative accuracy near 0), 1 - erfc otherwise.
fn erf_f(v: f32) -> f32 {
  let a = abs(v);
  if (a < 0.5) {
    let s = v * v;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
    return FRAC_2_SQRT_PI * v * (1.0 + s * (-0.3333333333 + s * (0.1 + s * (-0.0238095238 +
           s * (0.0046296296 + s * (-0.0007575758 + s * 0.0001068376))))));
  }
  let r = 1.0 - erfc_pos(a);
  return select(r, -r, v < 0.0);
}

// erfc(v) for any v, accurate in the tails.
fn erfc_f(v: f32) -> f32 {
  if (v >= 0.0) {
    return erfc_pos(v);
  }
  return 2.0 - erfc_pos(-v);
}

fn gelu_tanh_f(v: f32) -> f32 {
  // 0.5 v (1 + tanh(u)) == v * sigmoid(2u), without cancellation for negative v.
  let uu = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  return v * sigmoid_f(2.0 * uu);
}

fn gelu_erf_f(v: f32) -> f32 {
  // 0.5 v (1 + erf(v / sqrt 2)) == 0.5 v erfc(-v / sqrt 2).
  if (abs(v) < 0.5) {
    return 0.5 * v * (1.0 + erf_f(v * FRAC_1_SQRT_2));
  }
  return 0.5 * v * erfc_f(-v * FRAC_1_SQRT_2);
}

// d/dv of gelu_tanh: 0.5 (1 + t) + 0.5 v (1 - t^2) c (1 + 3 * 0.044715 v^2), t = tanh(c (v + 0.044715 v^3)).
fn gelu_tanh_grad_f(v: f32) -> f32 {
  let t = tanh_f(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
  return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
}

// d/dv of gelu_erf: Phi(v) + v phi(v).
fn gelu_erf_grad_f(v: f32) -> f32 {
  return 0.5 * erfc_f(-v * FRAC_1_SQRT_2) + v * exp(-0.5 * v * v) * (0.5 * FRAC_2_SQRT_PI * FRAC_1_SQRT_2);
}

// d²/dv² of gelu_tanh: (1 - t^2) (s' + 3 * 0.044715 c v^2 - v t s'^2), s' = c (1 + 3 * 0.044715 v^2).
// 1 - t^2 as 4e / (1 + e)^2 with e = exp(-2|s|) (no cancellation where t is near ±1).
fn gelu_tanh_grad2_f(v: f32) -> f32 {
  let s = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
  let e = exp(-2.0 * abs(s));
  let t = sign(s) * (1.0 - e) / (1.0 + e);
  let sech2 = 4.0 * e / ((1.0 + e) * (1.0 + e));
  let sp = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * v * v);
  return sech2 * (sp + 3.0 * 0.044715 * SQRT_2_OVER_PI * v * v - v * t * sp * sp);
}

// d²/dv² of gelu_erf: phi(v) (2 - v^2).
fn gelu_erf_grad2_f(v: f32) -> f32 {
  return exp(-0.5 * v * v) * (0.5 * FRAC_2_SQRT_PI * FRAC_1_SQRT_2) * (2.0 - v * v);
}

fn gelu_grad2(v: f32) -> f32 {
  if (GRAD == 0u) {
    return gelu_tanh_grad2_f(v);
  }
  return gelu_erf_grad2_f(v);
}

fn gelu_grad(v: f32) -> f32 {
  if (GRAD == 0u) {
    return gelu_tanh_grad_f(v);
  }
  return gelu_erf_grad_f(v);
}

fn log1p_f(v: f32) -> f32 {
  let w = 1.0 + v;
  if (w == 1.0) {
    return v;
  }
  return log(w) * v / (w - 1.0);
}

fn softplus_f(v: f32, beta: f32, threshold: f32) -> f32 {
  if (beta * v > threshold) {
    return v;
  }
  return log1p_f(exp(beta * v)) / beta;
}

// Math.pow semantics for real x, y (negative bases with integer exponents, x^0 = 1).
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) {
    return 1.0;
  }
  if (a == 0.0) {
    if (b > 0.0) {
      return select(0.0, a, fract(b * 0.5) != 0.0 && fract(b) == 0.0); // keeps -0 for odd powers
    }
    return f32_bits(0x7f800000u); // +inf
  }
  let m = pow(abs(a), b);
  if (a > 0.0) {
    return m;
  }
  if (fract(b) != 0.0) {
    return f32_bits(0x7fc00000u); // NaN
  }
  let odd = fract(b * 0.5) != 0.0;
  return select(m, -m, odd);
}

fn op(v: TI) -> TO {
  //OP_BODY
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i * 4u < u.n) {
    let v = x[i];
    y[i] = vec4<TO>(op(v.x), op(v.y), op(v.z), op(v.w));
  }
}

@compute @workgroup_size(WG)
fn geluBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i * 4u < u.n) {
    // (conversions keep the module valid for every TI/TO of `map`; gelu_backward runs with f32 only)
    let v = vec4<f32>(x[i]);
    let d = g[i];
    y[i] = vec4<TO>(vec4<f32>(d.x * gelu_grad(v.x), d.y * gelu_grad(v.y), d.z * gelu_grad(v.z), d.w * gelu_grad(v.w)));
  }
}

// gelu_second: y[i] = g[i] * g2[i] * gelu''(x[i]) (the x-part of the first-order vjp of gelu_backward).
@compute @workgroup_size(WG)
fn geluGradBackward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i * 4u < u.n) {
    let v = vec4<f32>(x[i]);
    let d = g[i] * g2[i];
    y[i] = vec4<TO>(vec4<f32>(d.x * gelu_grad2(v.x), d.y * gelu_grad2(v.y), d.z * gelu_grad2(v.z), d.w * gelu_grad2(v.w)));
  }
}

@compute @workgroup_size(WG)
fn addScaled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i * 4u < u.n) {
    y[i] = vec4<TO>(vec4<f32>(x[i]) + u.p0 * g[i]);
  }
}
