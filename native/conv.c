/*
 * vdafm convolution data movement for WebAssembly SIMD, linked into the same module as
 * native/gemm.c (see scripts/build-wasm.mjs): with these two kernels a 2D convolution, its input
 * gradient and its filter gradient are each one call of the GEMM (src/ops/conv.ts).
 *
 *   im2col   x [n, h, w, c] (NHWC) → cols [n·ho·wo, kh·kw·c]: row (b, i, j) holds the input patch
 *            read by output pixel (i, j) of image b, tap (a, q) at columns (a·kw + q)·c … + c,
 *            x[b, i·sh + a − pt, j·sw + q − pl, :] or zeros outside the image (padding)
 *   col2im   the adjoint: dx [n, h, w, c] = Σ over rows and taps of cols scattered back to the
 *            pixel each tap read (overwrites dx; padding taps are dropped)
 *
 * For one output pixel and one filter row a, the taps q = 0 … kw−1 read kw neighbouring input
 * pixels: one contiguous run of kw·c floats when they all lie inside the image, copied (or
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

__attribute__((export_name("im2col"))) void im2col(u32 n, u32 h, u32 w, u32 c, u32 kh, u32 kw, u32 sh, u32 sw, u32 pt,
                                                  u32 pl, u32 ho, u32 wo, const float *x, float *cols) {
  u32 K = kh * kw * c;
  float *row = cols;
  for (u32 b = 0; b < n; b++) {
    const float *img = x + b * h * w * c;
    for (u32 i = 0; i < ho; i++) {
      for (u32 j = 0; j < wo; j++, row += K) {
        u32 q0, q1;
        tap_range(j, sw, pl, kw, w, &q0, &q1);
        for (u32 a = 0; a < kh; a++) {
          int y = (int)(i * sh + a) - (int)pt;
          float *dst = row + a * kw * c;
          if (y < 0 || y >= (int)h || q0 == q1) {
            copy_run(dst, 0, kw * c);
            continue;
          }
          if (q0 > 0) copy_run(dst, 0, q0 * c);
          copy_run(dst + q0 * c, img + ((u32)y * w + j * sw + q0 - pl) * c, (q1 - q0) * c);
          if (q1 < kw) copy_run(dst + q1 * c, 0, (kw - q1) * c);
        }
      }
    }
  }
}

__attribute__((export_name("col2im"))) void col2im(u32 n, u32 h, u32 w, u32 c, u32 kh, u32 kw, u32 sh, u32 sw, u32 pt,
                                                  u32 pl, u32 ho, u32 wo, const float *cols, float *dx) {
  u32 K = kh * kw * c;
  copy_run(dx, 0, n * h * w * c);
  const float *row = cols;
  for (u32 b = 0; b < n; b++) {
    float *img = dx + b * h * w * c;
    for (u32 i = 0; i < ho; i++) {
      for (u32 j = 0; j < wo; j++, row += K) {
        u32 q0, q1;
        tap_range(j, sw, pl, kw, w, &q0, &q1);
        if (q0 == q1) continue;
        for (u32 a = 0; a < kh; a++) {
          int y = (int)(i * sh + a) - (int)pt;
          if (y < 0 || y >= (int)h) continue;
          add_run(img + ((u32)y * w + j * sw + q0 - pl) * c, row + (a * kw + q0) * c, (q1 - q0) * c);
        }
      }
    }
  }
}
