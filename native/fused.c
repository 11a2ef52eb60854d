/*
 * vdafm fused elementwise kernels for WebAssembly SIMD (simd128, no FMA), linked into the same
 * module as native/gemm.c (see scripts/build-wasm.mjs):
 *
 *   gelu_fwd        exact GELU y = x·Φ(x), optionally with Φ(x) or dy/dx = Φ(x) + x·φ(x)
 *   gelu_bwd        dx = dy·(Φ(x) + x·φ(x)), from x (and Φ(x) when given)
 *   layernorm_fwd   per row of x [rows, d]: mean, rstd = 1/sqrt(var + eps), y = x̂·gamma + beta
 *   layernorm_bwd   dx, dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy, with x̂ recomputed from x
 *   vdafm_erf       erf, for tests and the accuracy check
 *
 * Same rules as gemm.c: no libc, no static data, no stack (every constant is an immediate, no
 * local arrays), all pointers are byte offsets into the imported memory given by the caller.
 * v128 loads and stores need no alignment in WebAssembly; rows of any length are handled, the
 * last 1-3 elements through partially filled vectors.
 *
 * erf(a), a = |x| (vectorised, both branches computed, then selected per lane):
 *   a <  ERF_SPLIT: a·S(a²), S a degree-5 polynomial;
 *   a >= ERF_SPLIT: 1 − exp(−a²)·t·L(t), t = 1/(1 + ERFC_P·a), L of degree 7 (fitted for relative
 *                   accuracy of erfc up to a = 9, for GELU's left tail);
 * exp(z) for z <= 0: Cody-Waite reduction z = n·ln2 + r, |r| <= ln2/2, degree-6 polynomial,
 * scaled by 2^n through the exponent bits; 0 below −87. All coefficients are our own
 * near-minimax fits (native/fit_erf.py). Max |erf error| over [−12, 12], float32 evaluation:
 * 8.9e-8 (test/kernels/fused.test.ts measures it against a float64 reference, every 2^-16).
 */
#include <wasm_simd128.h>

typedef unsigned int u32;

/* fitted by native/fit_erf.py; float32 emulation: max |erf error| 9.12e-08 at 0.9013 */
#define ERF_SPLIT 0.875f
#define ERFC_P 0.6f
#define EXP2 4.999999404e-01f
#define EXP3 1.666642129e-01f
#define EXP4 4.166805744e-02f
#define EXP5 8.374956436e-03f
#define EXP6 1.384266536e-03f
#define ERF_S0 1.128379107e+00f
#define ERF_S1 -3.761243522e-01f
#define ERF_S2 1.128163338e-01f
#define ERF_S3 -2.676725946e-02f
#define ERF_S4 5.000911187e-03f
#define ERF_S5 -6.056026323e-04f
#define ERFC_L0 3.385553360e-01f
#define ERFC_L1 3.374542892e-01f
#define ERFC_L2 2.888842821e-01f
#define ERFC_L3 9.015145153e-02f
#define ERFC_L4 2.289376706e-01f
#define ERFC_L5 -5.461201668e-01f
#define ERFC_L6 3.208427429e-01f
#define ERFC_L7 -5.799208209e-02f

#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define LOG2E 1.44269504088896341f
#define INV_SQRT2 0.707106781186547524f
#define INV_SQRT_2PI 0.398942280401432678f

#define SPLAT(c) wasm_f32x4_splat(c)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
/* c + v·p, two roundings (no FMA in simd128) */
#define MADD(p, v, c) ADD(MUL(p, v), SPLAT(c))

/* exp(z) for z <= 0 (exactly 0 below −87; NaN stays NaN). */
static inline __attribute__((always_inline)) v128_t exp_nonpos(v128_t z) {
  v128_t under = wasm_f32x4_lt(z, SPLAT(-87.0f));
  /* pmax(z, c) = z < c ? c : z: one maxps (V8's NaN-propagating f32x4.max is a long sequence);
     a NaN z is kept (the comparison is false) */
  z = wasm_f32x4_pmax(z, SPLAT(-87.0f));
  /* round to nearest by adding 1.5·2^23: j's low mantissa bits then hold n (no trunc_sat) */
  v128_t j = ADD(MUL(z, SPLAT(LOG2E)), SPLAT(12582912.0f));
  v128_t n = SUB(j, SPLAT(12582912.0f));
  v128_t r = SUB(z, MUL(n, SPLAT(LN2_HI)));
  r = SUB(r, MUL(n, SPLAT(LN2_LO)));
  v128_t p = MADD(SPLAT(EXP6), r, EXP5);
  p = MADD(p, r, EXP4);
  p = MADD(p, r, EXP3);
  p = MADD(p, r, EXP2);
  p = MADD(p, r, 1.0f);
  p = MADD(p, r, 1.0f);
  /* (bits(j) + 127) << 23 == (n + 127) << 23: the bits of 1.5·2^23 shift out */
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(j, wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(MUL(p, scale), under);
}

/*
 * For a = |u| >= 0 (NaN allowed) and s = a² (the caller may compute it more accurately):
 * *small_out = lanes where a < ERF_SPLIT, *erf_small_out = a·S(s) (erf there),
 * *erfc_out = erfc(a) (1 − a·S(s) or exp(−s)·t·L(t)); returns e = exp(−s).
 */
static inline __attribute__((always_inline)) v128_t erfc_pos(v128_t a, v128_t s, v128_t *small_out, v128_t *erf_small_out,
                                                            v128_t *erfc_out) {
  v128_t ps = MADD(SPLAT(ERF_S5), s, ERF_S4);
  ps = MADD(ps, s, ERF_S3);
  ps = MADD(ps, s, ERF_S2);
  ps = MADD(ps, s, ERF_S1);
  ps = MADD(ps, s, ERF_S0);
  v128_t erf_small = MUL(a, ps);
  v128_t t = wasm_f32x4_div(SPLAT(1.0f), ADD(SPLAT(1.0f), MUL(SPLAT(ERFC_P), a)));
  v128_t pl = MADD(SPLAT(ERFC_L7), t, ERFC_L6);
  pl = MADD(pl, t, ERFC_L5);
  pl = MADD(pl, t, ERFC_L4);
  pl = MADD(pl, t, ERFC_L3);
  pl = MADD(pl, t, ERFC_L2);
  pl = MADD(pl, t, ERFC_L1);
  pl = MADD(pl, t, ERFC_L0);
  v128_t e = exp_nonpos(wasm_f32x4_neg(s));
  v128_t erfc_large = MUL(e, MUL(t, pl));
  v128_t small = wasm_f32x4_lt(a, SPLAT(ERF_SPLIT));
  *small_out = small;
  *erf_small_out = erf_small;
  *erfc_out = wasm_v128_bitselect(SUB(SPLAT(1.0f), erf_small), erfc_large, small);
  return e;
}

/* erf(x) = sign(x)·(a·S(a²) below the split, 1 − erfc(a) above), a = |x|. */
static inline __attribute__((always_inline)) v128_t erf_v(v128_t x) {
  v128_t a = wasm_f32x4_abs(x);
  v128_t small, erf_small, erfc;
  (void)erfc_pos(a, MUL(a, a), &small, &erf_small, &erfc);
  v128_t mag = wasm_v128_bitselect(erf_small, SUB(SPLAT(1.0f), erfc), small);
  v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000u));
  return wasm_v128_or(mag, sign);
}

/*
 * GELU of one vector: returns Φ(x) and sets *pdf = φ(x) = exp(−x²/2)/√(2π).
 * Φ(x) = erfc(|x|/√2)/2 for x < 0, 1 − erfc(|x|/√2)/2 otherwise: relative accuracy in the left
 * tail (~1e-7·x², from the rounding of x²), the same absolute accuracy as 0.5·(1 + erf) on the
 * right. s = x²/2 is computed from x (one rounding), not from the rounded |x|/√2.
 */
static inline __attribute__((always_inline)) v128_t cdf_v(v128_t x, v128_t *pdf) {
  v128_t a = MUL(wasm_f32x4_abs(x), SPLAT(INV_SQRT2));
  v128_t small, erf_small, erfc;
  v128_t e = erfc_pos(a, MUL(MUL(x, x), SPLAT(0.5f)), &small, &erf_small, &erfc);
  v128_t h = MUL(erfc, SPLAT(0.5f));
  *pdf = MUL(e, SPLAT(INV_SQRT_2PI));
  return wasm_v128_bitselect(h, SUB(SPLAT(1.0f), h), wasm_f32x4_lt(x, SPLAT(0.0f)));
}

/* The last r (1-3) floats of p as a vector (other lanes 0), and back. No stack arrays. */
static inline __attribute__((always_inline)) v128_t load_tail(const float *p, u32 r) {
  v128_t v = wasm_f32x4_splat(0.0f);
  v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (r > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (r > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}
static inline __attribute__((always_inline)) void store_tail(float *p, v128_t v, u32 r) {
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (r > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (r > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/** out[i] = erf(x[i]), i < n. */
__attribute__((export_name("vdafm_erf"))) void vdafm_erf(u32 n, const float *x, float *out) {
  u32 i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t e0 = erf_v(wasm_v128_load(x + i)), e1 = erf_v(wasm_v128_load(x + i + 4));
    wasm_v128_store(out + i, e0);
    wasm_v128_store(out + i + 4, e1);
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, erf_v(wasm_v128_load(x + i)));
  if (i < n) store_tail(out + i, erf_v(load_tail(x + i, n - i)), n - i);
}

/* One GELU forward vector; mode 0: y only, 1: aux = Φ(x), 2: aux = Φ(x) + x·φ(x). */
#define GELU_FWD_VEC(xv, yv, av)          \
  do {                                    \
    v128_t pdf_;                          \
    v128_t cdf_ = cdf_v(xv, &pdf_);       \
    yv = MUL(xv, cdf_);                   \
    av = mode == 1 ? cdf_ : ADD(cdf_, MUL(xv, pdf_)); \
  } while (0)

/**
 * y[i] = x[i]·Φ(x[i]); with mode 1 also aux[i] = Φ(x[i]), with mode 2 aux[i] = Φ(x[i]) +
 * x[i]·φ(x[i]) (the derivative: the backward pass is then dy·aux). aux is unused with mode 0.
 */
__attribute__((export_name("gelu_fwd"))) void gelu_fwd(u32 n, const float *x, float *y, float *aux, u32 mode) {
  u32 i = 0;
  /* two independent vectors per step: the polynomial chains are latency-bound (~30% faster) */
  for (; i + 8 <= n; i += 8) {
    v128_t yv, av, yv2, av2;
    GELU_FWD_VEC(wasm_v128_load(x + i), yv, av);
    GELU_FWD_VEC(wasm_v128_load(x + i + 4), yv2, av2);
    wasm_v128_store(y + i, yv);
    wasm_v128_store(y + i + 4, yv2);
    if (mode) {
      wasm_v128_store(aux + i, av);
      wasm_v128_store(aux + i + 4, av2);
    }
  }
  for (; i + 4 <= n; i += 4) {
    v128_t yv, av;
    GELU_FWD_VEC(wasm_v128_load(x + i), yv, av);
    wasm_v128_store(y + i, yv);
    if (mode) wasm_v128_store(aux + i, av);
  }
  if (i < n) {
    v128_t yv, av;
    GELU_FWD_VEC(load_tail(x + i, n - i), yv, av);
    store_tail(y + i, yv, n - i);
    if (mode) store_tail(aux + i, av, n - i);
  }
}

/* dx of one vector: dy·(Φ + x·φ), Φ from cdf when given (recomputed otherwise). */
static inline __attribute__((always_inline)) v128_t gelu_bwd_vec(v128_t dyv, v128_t xv, const float *cdf, u32 i, u32 r) {
  v128_t c, pdf;
  if (cdf) {
    c = r ? load_tail(cdf + i, r) : wasm_v128_load(cdf + i);
    pdf = MUL(exp_nonpos(MUL(MUL(xv, xv), SPLAT(-0.5f))), SPLAT(INV_SQRT_2PI));
  } else {
    c = cdf_v(xv, &pdf);
  }
  return MUL(dyv, ADD(c, MUL(xv, pdf)));
}

/** dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])); cdf (Φ(x) from gelu_fwd mode 1) may be 0. */
__attribute__((export_name("gelu_bwd"))) void gelu_bwd(u32 n, const float *dy, const float *x, const float *cdf, float *dx) {
  u32 i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t d0 = gelu_bwd_vec(wasm_v128_load(dy + i), wasm_v128_load(x + i), cdf, i, 0);
    v128_t d1 = gelu_bwd_vec(wasm_v128_load(dy + i + 4), wasm_v128_load(x + i + 4), cdf, i + 4, 0);
    wasm_v128_store(dx + i, d0);
    wasm_v128_store(dx + i + 4, d1);
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(dx + i, gelu_bwd_vec(wasm_v128_load(dy + i), wasm_v128_load(x + i), cdf, i, 0));
  if (i < n) {
    u32 r = n - i;
    store_tail(dx + i, gelu_bwd_vec(load_tail(dy + i, r), load_tail(x + i, r), cdf, i, r), r);
  }
}

static inline __attribute__((always_inline)) float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/**
 * Layer normalisation of each row of x [rows, d] (row-major): mean[r], rstd[r] =
 * 1/sqrt(Σ(x − mean)²/d + eps) (two passes, biased variance), y = (x − mean)·rstd (·gamma)
 * (+ beta). gamma and beta may be 0 (1 and 0).
 */
__attribute__((export_name("layernorm_fwd"))) void layernorm_fwd(u32 rows, u32 d, const float *X, const float *gamma,
                                                                   const float *beta, float eps, float *Y, float *mean,
                                                                   float *rstd) {
  const float inv_d = 1.0f / (float)d;
  for (u32 r = 0; r < rows; r++) {
    const float *x = X + r * d;
    float *y = Y + r * d;
    v128_t s0 = SPLAT(0.0f), s1 = s0;
    u32 j = 0;
    for (; j + 8 <= d; j += 8) {
      s0 = ADD(s0, wasm_v128_load(x + j));
      s1 = ADD(s1, wasm_v128_load(x + j + 4));
    }
    if (j + 4 <= d) {
      s0 = ADD(s0, wasm_v128_load(x + j));
      j += 4;
    }
    if (j < d) s1 = ADD(s1, load_tail(x + j, d - j));
    float m = hsum(ADD(s0, s1)) * inv_d;
    v128_t mv = SPLAT(m);
    s0 = SPLAT(0.0f);
    s1 = s0;
    for (j = 0; j + 8 <= d; j += 8) {
      v128_t c0 = SUB(wasm_v128_load(x + j), mv), c1 = SUB(wasm_v128_load(x + j + 4), mv);
      s0 = ADD(s0, MUL(c0, c0));
      s1 = ADD(s1, MUL(c1, c1));
    }
    if (j + 4 <= d) {
      v128_t c0 = SUB(wasm_v128_load(x + j), mv);
      s0 = ADD(s0, MUL(c0, c0));
      j += 4;
    }
    if (j < d) {
      /* lanes past the row are 0 − m: mask them out */
      u32 t = d - j;
      v128_t c1 = SUB(load_tail(x + j, t), mv);
      v128_t keep = wasm_i32x4_make(-1, t > 1 ? -1 : 0, t > 2 ? -1 : 0, 0);
      c1 = wasm_v128_and(c1, keep);
      s1 = ADD(s1, MUL(c1, c1));
    }
    float rs = 1.0f / __builtin_sqrtf(hsum(ADD(s0, s1)) * inv_d + eps);
    mean[r] = m;
    rstd[r] = rs;
    v128_t rv = SPLAT(rs);
    for (j = 0; j + 4 <= d; j += 4) {
      v128_t v = MUL(SUB(wasm_v128_load(x + j), mv), rv);
      if (gamma) v = MUL(v, wasm_v128_load(gamma + j));
      if (beta) v = ADD(v, wasm_v128_load(beta + j));
      wasm_v128_store(y + j, v);
    }
    if (j < d) {
      u32 t = d - j;
      v128_t v = MUL(SUB(load_tail(x + j, t), mv), rv);
      if (gamma) v = MUL(v, load_tail(gamma + j, t));
      if (beta) v = ADD(v, load_tail(beta + j, t));
      store_tail(y + j, v, t);
    }
  }
}

/**
 * Gradient of layernorm_fwd for dy [rows, d], with x̂ = (x − mean)·rstd recomputed from x:
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma (dy when gamma = 0);
 * dgamma[j] = Σ_r dy·x̂ and dbeta[j] = Σ_r dy (each skipped when its pointer is 0), summed in
 * row order.
 */
__attribute__((export_name("layernorm_bwd"))) void layernorm_bwd(u32 rows, u32 d, const float *DY, const float *X,
                                                                   const float *mean, const float *rstd,
                                                                   const float *gamma, float *DX, float *dgamma,
                                                                   float *dbeta) {
  const float inv_d = 1.0f / (float)d;
  for (u32 j = 0; j < d; j++) {
    if (dgamma) dgamma[j] = 0.0f;
    if (dbeta) dbeta[j] = 0.0f;
  }
  for (u32 r = 0; r < rows; r++) {
    const float *x = X + r * d;
    const float *dy = DY + r * d;
    float *dx = DX + r * d;
    v128_t mv = SPLAT(mean[r]);
    v128_t rv = SPLAT(rstd[r]);
    v128_t sa = SPLAT(0.0f), sb = sa;
    u32 j = 0;
    /* pass 1: Σg, Σg·x̂, and the parameter gradients */
    for (; j + 4 <= d; j += 4) {
      v128_t xh = MUL(SUB(wasm_v128_load(x + j), mv), rv);
      v128_t dyv = wasm_v128_load(dy + j);
      v128_t g = gamma ? MUL(dyv, wasm_v128_load(gamma + j)) : dyv;
      sa = ADD(sa, g);
      sb = ADD(sb, MUL(g, xh));
      if (dgamma) wasm_v128_store(dgamma + j, ADD(wasm_v128_load(dgamma + j), MUL(dyv, xh)));
      if (dbeta) wasm_v128_store(dbeta + j, ADD(wasm_v128_load(dbeta + j), dyv));
    }
    if (j < d) {
      u32 t = d - j;
      v128_t xh = MUL(SUB(load_tail(x + j, t), mv), rv);
      v128_t dyv = load_tail(dy + j, t); /* 0 past the row: g and g·x̂ are 0 there */
      v128_t g = gamma ? MUL(dyv, load_tail(gamma + j, t)) : dyv;
      sa = ADD(sa, g);
      sb = ADD(sb, MUL(g, xh));
      if (dgamma) store_tail(dgamma + j, ADD(load_tail(dgamma + j, t), MUL(dyv, xh)), t);
      if (dbeta) store_tail(dbeta + j, ADD(load_tail(dbeta + j, t), dyv), t);
    }
    v128_t ma = SPLAT(hsum(sa) * inv_d);
    v128_t mb = SPLAT(hsum(sb) * inv_d);
    /* pass 2: dx */
    for (j = 0; j + 4 <= d; j += 4) {
      v128_t xh = MUL(SUB(wasm_v128_load(x + j), mv), rv);
      v128_t dyv = wasm_v128_load(dy + j);
      v128_t g = gamma ? MUL(dyv, wasm_v128_load(gamma + j)) : dyv;
      wasm_v128_store(dx + j, MUL(SUB(SUB(g, ma), MUL(xh, mb)), rv));
    }
    if (j < d) {
      u32 t = d - j;
      v128_t xh = MUL(SUB(load_tail(x + j, t), mv), rv);
      v128_t dyv = load_tail(dy + j, t);
      v128_t g = gamma ? MUL(dyv, load_tail(gamma + j, t)) : dyv;
      store_tail(dx + j, MUL(SUB(SUB(g, ma), MUL(xh, mb)), rv), t);
    }
  }
}

/*
 * Channel normalisation of channels-last maps, x [n, s, c] (c a multiple of 4): statistics per
 * (sample b, group) over the s positions and the c/groups channels of the group (batch norm:
 * n = 1, groups = c; group norm: n samples). Two passes for the statistics (the variance of the
 * centred values, biased), one for y:
 *   mean[b, g], var[b, g];  y = (x − mean)·(rstd·gamma) + beta,  rstd = 1/sqrt(var + eps)
 * With `relu`, y = max(that, 0) (the activation that follows most norms, fused).
 * `scratch`: 2c floats. Sums run down the positions in float32, one chain per channel.
 */
static void channel_sums(u32 s, u32 c, const float *x, const float *centre, float *acc, int square) {
  for (u32 j = 0; j < c; j += 4) wasm_v128_store(acc + j, SPLAT(0.0f));
  for (u32 r = 0; r < s; r++) {
    const float *xr = x + r * c;
    for (u32 j = 0; j < c; j += 4) {
      v128_t v = wasm_v128_load(xr + j);
      if (square) {
        v = SUB(v, wasm_v128_load(centre + j));
        v = MUL(v, v);
      }
      wasm_v128_store(acc + j, ADD(wasm_v128_load(acc + j), v));
    }
  }
}

/* out[g] = Σ over the cg channels of group g of acc, ÷ count; then expanded back per channel into exp[c]. */
static void group_means(u32 c, u32 groups, const float *acc, float count, float *out, float *exp) {
  u32 cg = c / groups;
  for (u32 g = 0; g < groups; g++) {
    float t = 0.0f;
    for (u32 k = 0; k < cg; k++) t += acc[g * cg + k];
    float m = t / count;
    out[g] = m;
    for (u32 k = 0; k < cg; k++) exp[g * cg + k] = m;
  }
}

__attribute__((export_name("chnorm_fwd"))) void chnorm_fwd(u32 n, u32 s, u32 c, u32 groups, const float *X,
                                                             const float *gamma, const float *beta, float eps, u32 relu,
                                                             float *Y, float *mean, float *var, float *scratch) {
  v128_t zero = SPLAT(0.0f);
  float *acc = scratch, *vec = scratch + c;
  float count = (float)(s * (c / groups));
  for (u32 b = 0; b < n; b++) {
    const float *x = X + b * s * c;
    float *y = Y + b * s * c;
    channel_sums(s, c, x, 0, acc, 0);
    group_means(c, groups, acc, count, mean + b * groups, vec); /* vec = mean per channel */
    channel_sums(s, c, x, vec, acc, 1);
    group_means(c, groups, acc, count, var + b * groups, acc); /* acc = var per channel */
    for (u32 j = 0; j < c; j++) acc[j] = (1.0f / __builtin_sqrtf(acc[j] + eps)) * gamma[j]; /* scale */
    for (u32 r = 0; r < s; r++) {
      const float *xr = x + r * c;
      float *yr = y + r * c;
      for (u32 j = 0; j < c; j += 4) {
        v128_t v = ADD(MUL(SUB(wasm_v128_load(xr + j), wasm_v128_load(vec + j)), wasm_v128_load(acc + j)), wasm_v128_load(beta + j));
        /* ReLU: 0 where v ≤ 0, v elsewhere (a NaN stays NaN) */
        wasm_v128_store(yr + j, relu ? wasm_v128_andnot(v, wasm_f32x4_le(v, zero)) : v);
      }
    }
  }
}

/*
 * Gradient of chnorm_fwd, with the centred input recomputed from x, mean and var (nothing of
 * size [n, s, c] but x kept):
 *   dx = dy·A + (x − mean)·B + Q,  A = rstd·gamma,  B = −rstd³/count·Σ_group gamma·Σ dy·(x − mean),
 *   Q = −rstd/count·Σ_group gamma·Σ dy;  dgamma = Σ_b rstd·Σ dy·(x − mean),  dbeta = Σ_b Σ dy.
 * With `relu` (beta given): the forward applied ReLU; its mask (y > 0) is recomputed with the
 * forward's exact arithmetic, and dy is masked first.
 * `scratch`: 5c floats.
 */
/* dy, masked where the forward's ReLU output was 0 (relu: y = (x − m)·a + beta recomputed). */
static inline v128_t masked_dy(const float *dyr, const float *xr, const float *m, const float *a, const float *beta, u32 j,
                               int relu) {
  v128_t d = wasm_v128_load(dyr + j);
  if (!relu) return d;
  v128_t y = ADD(MUL(SUB(wasm_v128_load(xr + j), wasm_v128_load(m + j)), wasm_v128_load(a + j)), wasm_v128_load(beta + j));
  return wasm_v128_andnot(d, wasm_f32x4_le(y, SPLAT(0.0f)));
}

__attribute__((export_name("chnorm_bwd"))) void chnorm_bwd(u32 n, u32 s, u32 c, u32 groups, const float *DY,
                                                             const float *X, const float *mean, const float *var,
                                                             const float *gamma, const float *beta, float eps, float *DX,
                                                             float *dgamma, float *dbeta, float *scratch) {
  float *sdy = scratch, *st = scratch + c, *m = scratch + 2 * c, *a = scratch + 3 * c, *bq = scratch + 4 * c;
  u32 cg = c / groups;
  float inv = -1.0f / (float)(s * cg);
  int relu = beta != 0;
  for (u32 j = 0; j < c; j++) dgamma[j] = dbeta[j] = 0.0f;
  for (u32 b = 0; b < n; b++) {
    const float *x = X + b * s * c, *dy = DY + b * s * c;
    float *dx = DX + b * s * c;
    for (u32 j = 0; j < c; j++) {
      m[j] = mean[b * groups + j / cg];
      a[j] = (1.0f / __builtin_sqrtf(var[b * groups + j / cg] + eps)) * gamma[j]; /* the forward's scale */
    }
    for (u32 j = 0; j < c; j += 4) {
      wasm_v128_store(sdy + j, SPLAT(0.0f));
      wasm_v128_store(st + j, SPLAT(0.0f));
    }
    for (u32 r = 0; r < s; r++) {
      const float *xr = x + r * c, *dyr = dy + r * c;
      for (u32 j = 0; j < c; j += 4) {
        v128_t d = masked_dy(dyr, xr, m, a, beta, j, relu);
        wasm_v128_store(sdy + j, ADD(wasm_v128_load(sdy + j), d));
        wasm_v128_store(st + j, ADD(wasm_v128_load(st + j), MUL(d, SUB(wasm_v128_load(xr + j), wasm_v128_load(m + j)))));
      }
    }
    for (u32 g = 0; g < groups; g++) {
      float rs = 1.0f / __builtin_sqrtf(var[b * groups + g] + eps);
      float sg = 0.0f, sgc = 0.0f;
      for (u32 k = 0; k < cg; k++) {
        u32 j = g * cg + k;
        sg += sdy[j] * gamma[j];
        sgc += st[j] * gamma[j];
        dgamma[j] += rs * st[j];
        dbeta[j] += sdy[j];
      }
      float bb = (rs * rs * rs) * (sgc * inv), q = rs * (sg * inv);
      for (u32 k = 0; k < cg; k++) {
        u32 j = g * cg + k;
        sdy[j] = bb; /* reused: B per channel */
        bq[j] = q;
      }
    }
    for (u32 r = 0; r < s; r++) {
      const float *xr = x + r * c, *dyr = dy + r * c;
      float *dxr = dx + r * c;
      for (u32 j = 0; j < c; j += 4) {
        v128_t t = ADD(MUL(masked_dy(dyr, xr, m, a, beta, j, relu), wasm_v128_load(a + j)),
                       MUL(SUB(wasm_v128_load(xr + j), wasm_v128_load(m + j)), wasm_v128_load(sdy + j)));
        wasm_v128_store(dxr + j, ADD(t, wasm_v128_load(bq + j)));
      }
    }
  }
}
