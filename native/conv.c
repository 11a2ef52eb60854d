/*
 * vdafm convolution data movement for WebAssembly SIMD, linked into the same module as
 * native/gemm.c (see scripts/build-wasm.mjs): with these two kernels a 2D or 3D convolution, its
 * input gradient and its filter gradient are each one call of the GEMM (src/ops/conv.ts).
 *
 *   im2col   x [n, d, h, w, c] (NDHWC; an image is d = 1) → cols [n·dout·ho·wo, kd·kh·kw·c]: row
 *            (b, z, i, j) holds the input patch read by output voxel (z, i, j) of volume b, tap
 *            (t, a, q) at columns ((t·kh + a)·kw + q)·c … + c:
 *            x[b, z·sd + t − pf, i·sh + a − pt, j·sw + q − pl, :], or zeros outside (padding)
 *   col2im   the adjoint: dx [n, d, h, w, c] = Σ over rows and taps of cols scattered back to the
 *            voxel each tap read (overwrites dx; padding taps are dropped)
 *
 * For one output voxel and one filter row (t, a), the taps q = 0 … kw−1 read kw neighbouring
 * input pixels: one contiguous run of kw·c floats when they all lie inside the image, copied (or
 * added) as a block. Same rules as gemm.c: no libc, no static data, no stack, all pointers are
 * byte offsets into the imported memory.
 */
#include <wasm_simd128.h>

typedef unsigned int u32;

/* dst[0:len] = src[0:len] (or zeros when src is 0). */
static inline void copy_run(float *dst, const float *src, u32 len) {
  u32 k = 0;
  if (src) {
    for (; k + 8 <= len; k += 8) {
      wasm_v128_store(dst + k, wasm_v128_load(src + k));
      wasm_v128_store(dst + k + 4, wasm_v128_load(src + k + 4));
    }
    for (; k + 4 <= len; k += 4) wasm_v128_store(dst + k, wasm_v128_load(src + k));
    for (; k < len; k++) dst[k] = src[k];
  } else {
    v128_t z = wasm_f32x4_splat(0.0f);
    for (; k + 4 <= len; k += 4) wasm_v128_store(dst + k, z);
    for (; k < len; k++) dst[k] = 0.0f;
  }
}

/* dst[0:len] += src[0:len]. */
static inline void add_run(float *dst, const float *src, u32 len) {
  u32 k = 0;
  for (; k + 8 <= len; k += 8) {
    wasm_v128_store(dst + k, wasm_f32x4_add(wasm_v128_load(dst + k), wasm_v128_load(src + k)));
    wasm_v128_store(dst + k + 4, wasm_f32x4_add(wasm_v128_load(dst + k + 4), wasm_v128_load(src + k + 4)));
  }
  for (; k + 4 <= len; k += 4) wasm_v128_store(dst + k, wasm_f32x4_add(wasm_v128_load(dst + k), wasm_v128_load(src + k)));
  for (; k < len; k++) dst[k] += src[k];
}

/*
 * The taps q ∈ [q0, q1) of filter row a that read inside the image for output column j, i.e.
 * 0 ≤ j·sw + q − pl < w: q0 = max(0, pl − j·sw), q1 = min(kw, w + pl − j·sw).
 */
static inline void tap_range(u32 j, u32 sw, u32 pl, u32 kw, u32 w, u32 *q0, u32 *q1) {
  int base = (int)(j * sw) - (int)pl;
  int lo = base < 0 ? -base : 0;
  int hi = (int)w - base;
  if (hi > (int)kw) hi = (int)kw;
  if (hi < lo) hi = lo;
  *q0 = (u32)lo;
  *q1 = (u32)hi;
}

/*
 * Volumes: x [n, d, h, w, c] (a 2D image is d = kd = sd = 1, pf = 0, dout = 1), kernel kd × kh × kw,
 * strides sd, sh, sw, padding before pf (front), pt (top), pl (left), output dout × ho × wo.
 * cols row (b, z, i, j), column ((t·kh + a)·kw + q)·c + ci. One walk over every (row, filter row)
 * for both directions: gather copies the in-image run into cols and zeros the rest; scatter adds
 * the run back into x (which it zeroes first) and skips the padding.
 */
static void walk(int scatter, u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd, u32 sh, u32 sw, u32 pf,
                 u32 pt, u32 pl, u32 dout, u32 ho, u32 wo, float *x, float *cols) {
  u32 run = kw * c;
  if (scatter) copy_run(x, 0, n * d * h * w * c);
  float *row = cols;
  for (u32 b = 0; b < n; b++) {
    for (u32 z = 0; z < dout; z++) {
      for (u32 i = 0; i < ho; i++) {
        for (u32 j = 0; j < wo; j++) {
          u32 q0, q1;
          tap_range(j, sw, pl, kw, w, &q0, &q1);
          for (u32 t = 0; t < kd; t++) {
            int zz = (int)(z * sd + t) - (int)pf;
            for (u32 a = 0; a < kh; a++, row += run) {
              int y = (int)(i * sh + a) - (int)pt;
              int inside = zz >= 0 && zz < (int)d && y >= 0 && y < (int)h && q0 < q1;
              float *pixels = inside ? x + (((b * d + (u32)zz) * h + (u32)y) * w + j * sw + q0 - pl) * c : 0;
              if (scatter) {
                if (inside) add_run(pixels, row + q0 * c, (q1 - q0) * c);
              } else if (!inside) {
                copy_run(row, 0, run);
              } else {
                if (q0 > 0) copy_run(row, 0, q0 * c);
                copy_run(row + q0 * c, pixels, (q1 - q0) * c);
                if (q1 < kw) copy_run(row + q1 * c, 0, (kw - q1) * c);
              }
            }
          }
        }
      }
    }
  }
}

__attribute__((export_name("im2col"))) void im2col(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd,
                                                  u32 sh, u32 sw, u32 pf, u32 pt, u32 pl, u32 dout, u32 ho, u32 wo,
                                                  const float *x, float *cols) {
  walk(0, n, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, (float *)x, cols);
}

__attribute__((export_name("col2im"))) void col2im(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd,
                                                  u32 sh, u32 sw, u32 pf, u32 pt, u32 pl, u32 dout, u32 ho, u32 wo,
                                                  const float *cols, float *dx) {
  walk(1, n, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, dx, (float *)cols);
}
