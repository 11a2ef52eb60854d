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
 *   conv_rows    rows of the forward convolution y = im2col(x) · w, gathered and multiplied one
 *            cache-sized block of patch rows at a time (src/kernels/conv.ts, the Node pool)
 *   conv_input_rows  the input gradient dx = col2im(dy · wᵀ) of whole volumes, one block of patch
 *            rows at a time (multiplied, then scattered back while still in cache)
 *   conv_filter_rows the filter gradient dw = im2col(x)ᵀ · dy, one block of patch rows at a time
 *
 * For one output voxel and one filter row (t, a), the taps q = 0 … kw−1 read kw neighbouring
 * input pixels: one contiguous run of kw·c floats when they all lie inside the image, copied (or
 * added) as a block. Same rules as gemm.c: no libc, no static data, no stack, all pointers are
 * byte offsets into the imported memory.
 */
#include <wasm_simd128.h>

typedef unsigned int u32;

/* native/gemm.c, linked into the same module (the simd128 or the relaxed-SIMD build). */
void gemm(u32 M, u32 N, u32 K, const float *A, u32 lda, int transA, const float *B, u32 ldb, int transB, float *C, u32 ldc,
          int beta, const float *bias, float *work);
/* native/gemm.c's segmented product (A read in place through a table of segments per group of rows). */
u32 gemm_seg_group(void);
u32 gemm_seg_room(void);
void gemm_seg(u32 M, u32 N, u32 K, u32 run, const u32 *tab, u32 ld, const float *B, u32 ldb, float *C, u32 ldc,
              float *work);
void gemm_seg_t(u32 M, u32 N, u32 K, u32 run, u32 m0, const u32 *tab, u32 ld, const float *B, u32 ldb, float *C, u32 ldc,
                int beta, float *work);

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
 * The interior output columns [jlo, jhi), whose kw taps all read inside the image's columns:
 * j·sw ≥ pl and j·sw − pl + kw ≤ w (jlo > jhi when there are none).
 */
static inline void interior(u32 w, u32 kw, u32 sw, u32 pl, u32 wo, u32 *jlo, u32 *jhi) {
  u32 hi = w + pl >= kw ? (w + pl - kw) / sw + 1 : 0;
  *jlo = (pl + sw - 1) / sw;
  *jhi = hi > wo ? wo : hi;
}

/*
 * Volumes: x [n, d, h, w, c] (a 2D image is d = kd = sd = 1, pf = 0, dout = 1), kernel kd × kh × kw,
 * strides sd, sh, sw, padding before pf (front), pt (top), pl (left), output dout × ho × wo.
 * cols row (b, z, i, j), column ((t·kh + a)·kw + q)·c + ci. One walk over every (row, filter row)
 * of rows [r0, r0 + count) for both directions: gather copies the in-image run into cols (row r0
 * first) and zeros the rest; scatter adds the run back into x and skips the padding (the caller
 * zeroes x first).
 *
 * One output image row (fixed b, z, i; a run of columns j) at a time, so that the filter row
 * (t, a) is resolved once per image row and not once per patch row: its input row is
 * x[b, z·sd + t − pf, i·sh + a − pt, :, :] (or padding), and column j reads the kw·c floats at
 * (j·sw − pl)·c of it, whole for the interior columns j ∈ [jlo, jhi), clipped by tap_range at
 * the borders. Scatter adds in the order of rows, then filter rows: within one image row an input
 * pixel is reached by one filter row (t, a) only, so every pixel receives its additions in
 * ascending row order, however the blocks of rows are cut.
 */
static inline __attribute__((always_inline)) void walk(int scatter, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd, u32 sh, u32 sw, u32 pf,
                 u32 pt, u32 pl, u32 dout, u32 ho, u32 wo, u32 r0, u32 count, float *x, float *cols) {
  u32 run = kw * c;
  u32 kk = kd * kh * run;
  u32 jlo, jhi;
  interior(w, kw, sw, pl, wo, &jlo, &jhi);
  if (jlo > jhi) jlo = jhi;
  for (u32 r = r0; r < r0 + count;) {
    u32 j0 = r % wo, rest = r / wo;
    u32 i = rest % ho;
    rest /= ho;
    u32 z = rest % dout, b = rest / dout;
    u32 j1 = wo - j0 < r0 + count - r ? wo : j0 + (r0 + count - r); /* this image row's columns [j0, j1) */
    float *rows = cols + (r - r0) * kk - j0 * kk;                      /* row of column j: rows + j·kk */
    for (u32 t = 0; t < kd; t++) {
      int zz = (int)(z * sd + t) - (int)pf;
      for (u32 a = 0; a < kh; a++) {
        int y = (int)(i * sh + a) - (int)pt;
        u32 col = (t * kh + a) * run;
        if (zz < 0 || zz >= (int)d || y < 0 || y >= (int)h) {
          if (!scatter)
            for (u32 j = j0; j < j1; j++) copy_run(rows + j * kk + col, 0, run);
          continue;
        }
        float *line = x + (((b * d + (u32)zz) * h + (u32)y) * w) * c; /* the input row */
        u32 lo = jlo > j0 ? jlo : j0, hi = jhi < j1 ? jhi : j1;
        if (lo > hi) lo = hi;
        for (u32 j = j0; j < j1; j++) {
          if (j == lo && lo < hi) {
            /* the interior: whole runs */
            if (scatter)
              for (; j < hi; j++) add_run(line + (j * sw - pl) * c, rows + j * kk + col, run);
            else
              for (; j < hi; j++) copy_run(rows + j * kk + col, line + (j * sw - pl) * c, run);
            if (j == j1) break;
          }
          u32 q0, q1;
          tap_range(j, sw, pl, kw, w, &q0, &q1);
          float *row = rows + j * kk + col;
          if (scatter) {
            if (q0 < q1) add_run(line + (j * sw + q0 - pl) * c, row + q0 * c, (q1 - q0) * c);
            continue;
          }
          if (q0 >= q1) {
            copy_run(row, 0, run);
            continue;
          }
          if (q0 > 0) copy_run(row, 0, q0 * c);
          copy_run(row + q0 * c, line + (j * sw + q0 - pl) * c, (q1 - q0) * c);
          if (q1 < kw) copy_run(row + q1 * c, 0, (kw - q1) * c);
        }
      }
    }
    r += j1 - j0;
  }
}

__attribute__((export_name("im2col"))) void im2col(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd,
                                                  u32 sh, u32 sw, u32 pf, u32 pt, u32 pl, u32 dout, u32 ho, u32 wo,
                                                  const float *x, float *cols) {
  walk(0, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, 0, n * dout * ho * wo, (float *)x, cols);
}

__attribute__((export_name("col2im"))) void col2im(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd,
                                                  u32 sh, u32 sw, u32 pf, u32 pt, u32 pl, u32 dout, u32 ho, u32 wo,
                                                  const float *cols, float *dx) {
  copy_run(dx, 0, n * d * h * w * c);
  walk(1, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, 0, n * dout * ho * wo, dx, (float *)cols);
}

/* Widest product (output channels) and shortest filter row (kw·c floats) read in place. */
#define SEG_MAX_N 64
#define SEG_MIN_RUN 16

/*
 * The segments of patch rows [s, s + rows) for the in-place products (native/gemm.c gemm_seg,
 * gemm_seg_t): tab[q·ld + (r − s)] points at filter row q = (t, a) of patch row r, kw·c floats.
 * For an output pixel of the interior columns (`interior`) that is one run of an input
 * row, x[b, z·sd + t − pf, i·sh + a − pt, j·sw − pl …], or `zero` (a run of zeros) for a padding
 * row. The pixels of the border columns have their patch rows gathered into cols, at their rows
 * (cols + (r − s)·K), and point there.
 */
static void seg_table(u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd, u32 sh, u32 sw, u32 pf, u32 pt, u32 pl,
                      u32 dout, u32 ho, u32 wo, u32 s, u32 rows, const float *x, const float *zero, float *cols, u32 *tab,
                      u32 ld) {
  u32 run = kw * c, kk = kd * kh * run, segs = kd * kh;
  u32 jlo, jhi;
  interior(w, kw, sw, pl, wo, &jlo, &jhi);
  u32 j = s % wo, rest = s / wo;
  u32 i = rest % ho;
  rest /= ho;
  u32 z = rest % dout, b = rest / dout;
  for (u32 r = 0; r < rows; r++) {
    if (j < jlo || j >= jhi) {
      float *own = cols + r * kk;
      walk(0, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s + r, 1, (float *)x, own);
      for (u32 q = 0; q < segs; q++) tab[q * ld + r] = (u32)(own + q * run);
    } else {
      for (u32 t = 0; t < kd; t++) {
        int zz = (int)(z * sd + t) - (int)pf;
        for (u32 a = 0; a < kh; a++) {
          int yy = (int)(i * sh + a) - (int)pt;
          int inside = zz >= 0 && zz < (int)d && yy >= 0 && yy < (int)h;
          tab[(t * kh + a) * ld + r] = inside ? (u32)(x + ((((b * d + (u32)zz) * h + (u32)yy) * w) + j * sw - pl) * c) : (u32)zero;
        }
      }
    }
    if (++j == wo) {
      j = 0;
      if (++i == ho) {
        i = 0;
        if (++z == dout) z = 0, b++;
      }
    }
  }
}

/*
 * Rows [r0, r0 + count) of y [rows, cout] = im2col(x) · w (w [K, cout], K = kd·kh·kw·c), one block of
 * at most `chunk` rows at a time. A remainder under 4 rows joins the block before it, so no block
 * takes the GEMM's few-rows path unless count < 4: every output row is the same sum as in one GEMM
 * over the whole patch matrix (bit for bit). `cols`: room for chunk + 3 patch rows; `work`: the
 * GEMM's workspace.
 *
 * Two ways, the same bits. Gathered: the block's patch rows by im2col into `cols`, then one GEMM.
 * In place (count ≥ 4, cout ≤ SEG_MAX_N, kw·c ≥ SEG_MIN_RUN): the GEMM's micro-kernel reads the
 * patches where they are (seg_table, gemm_seg); only the border columns' patch rows are gathered.
 * The table and a run of zeros live in the GEMM workspace's packed-A region, which bounds the block.
 */
__attribute__((export_name("conv_rows"))) void conv_rows(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh, u32 kw, u32 sd,
                                                        u32 sh, u32 sw, u32 pf, u32 pt, u32 pl, u32 dout, u32 ho, u32 wo,
                                                        u32 r0, u32 count, const float *x, const float *wt, float *y,
                                                        u32 cout, u32 chunk, float *cols, float *work) {
  (void)n;
  u32 kk = kd * kh * kw * c;
  u32 end = r0 + count;
  u32 group = gemm_seg_group();
  u32 run = kw * c, segs = kd * kh;
  u32 room = gemm_seg_room(); /* floats: the run of zeros, then the table */
  /* a block's table: segs × (at most chunk + 3 rows, rounded up to a group) */
  u32 most = room > run ? ((room - run) / segs) / group * group : 0;
  int inplace = count >= 4 && cout <= SEG_MAX_N && run >= SEG_MIN_RUN && most >= 4 * group;
  if (inplace && chunk + 3 + group > most) chunk = most - 3 - group;
  float *zero = work;
  u32 *tab = (u32 *)(work + run);
  if (inplace) copy_run(zero, 0, run);
  for (u32 s = r0; s < end;) {
    u32 rows = end - s < chunk ? end - s : chunk;
    if (end - s - rows < 4) rows = end - s;
    if (!inplace) {
      walk(0, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, (float *)x, cols);
      gemm(rows, cout, kk, cols, kk, 0, wt, cout, 0, y + s * cout, cout, 0, 0, work);
      s += rows;
      continue;
    }
    u32 ld = (rows + group - 1) / group * group;
    seg_table(d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, x, zero, cols, tab, ld);
    /* a short last group repeats the block's last row */
    for (u32 r = rows; r < ld; r++)
      for (u32 q = 0; q < segs; q++) tab[q * ld + r] = tab[q * ld + rows - 1];
    gemm_seg(rows, cout, kk, run, tab, ld, wt, cout, y + s * cout, cout, work);
    s += rows;
  }
}

/*
 * The input gradient of volumes [b0, b0 + nb): dx = col2im(dy · wᵀ) over their rows
 * [b0·per, (b0 + nb)·per) (per = dout·ho·wo rows per volume), one block of at most `chunk` rows
 * at a time: one GEMM into `cols` (room for chunk + 3 rows), then the block scattered back into
 * dx, which is zeroed first (those volumes only). Blocks as in conv_rows; every dx voxel receives
 * the same additions in the same order as col2im of the whole product (bit for bit).
 */
__attribute__((export_name("conv_input_rows"))) void conv_input_rows(u32 nb, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh,
                                                                    u32 kw, u32 sd, u32 sh, u32 sw, u32 pf, u32 pt, u32 pl,
                                                                    u32 dout, u32 ho, u32 wo, u32 b0, const float *dy,
                                                                    const float *wt, float *dx, u32 cout, u32 chunk,
                                                                    float *cols, float *work) {
  u32 kk = kd * kh * kw * c;
  u32 per = dout * ho * wo;
  u32 volume = d * h * w * c;
  copy_run(dx + b0 * volume, 0, nb * volume);
  u32 end = (b0 + nb) * per;
  for (u32 s = b0 * per; s < end;) {
    u32 rows = end - s < chunk ? end - s : chunk;
    if (end - s - rows < 4) rows = end - s;
    gemm(rows, kk, cout, dy + s * cout, cout, 0, wt, cout, 1, cols, kk, 0, 0, work);
    walk(1, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, dx, cols);
    s += rows;
  }
}

/*
 * Whether the filter gradient reads its patches in place (seg_table, gemm_seg_t) for rows m0 …
 * of dw: as conv_rows, and a 256-row unit's table fits, MR consecutive columns of the patch matrix
 * lie in one segment (run and m0 multiples of MR), and mrows ≥ MR (else the GEMM's few-rows path).
 */
static inline int filter_inplace(u32 run, u32 segs, u32 cout, u32 m0, u32 mrows) {
  u32 group = gemm_seg_group();
  return cout <= SEG_MAX_N && run >= SEG_MIN_RUN && run % group == 0 && m0 % group == 0 && mrows >= group &&
         run + segs * 256 <= gemm_seg_room();
}

/*
 * Rows [m0, m0 + mrows) of the filter gradient dw [K, cout] = im2col(x)ᵀ · dy over all rows of the
 * patch matrix, one block of `chunk` patch rows at a time (chunk a multiple of 256, the GEMM's
 * depth block KC: the blocks then add into dw in the same order as the depth blocks of one GEMM
 * over all rows, bit for bit). The Node pool splits dw's rows over threads (each gathers every
 * block, and multiplies its own columns of it). In place (filter_inplace) one 256-row unit at a
 * time: its table, then gemm_seg_t (the same depth blocks, the same bits).
 */
__attribute__((export_name("conv_filter_rows"))) void conv_filter_rows(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh,
                                                                      u32 kw, u32 sd, u32 sh, u32 sw, u32 pf, u32 pt,
                                                                      u32 pl, u32 dout, u32 ho, u32 wo, const float *x,
                                                                      const float *dy, float *dw, u32 cout, u32 m0,
                                                                      u32 mrows, u32 chunk, float *cols, float *work) {
  u32 kk = kd * kh * kw * c;
  u32 total = n * dout * ho * wo;
  u32 run = kw * c;
  if (filter_inplace(run, kd * kh, cout, m0, mrows)) {
    float *zero = work;
    u32 *tab = (u32 *)(work + run);
    copy_run(zero, 0, run);
    for (u32 s = 0; s < total; s += 256) {
      u32 rows = total - s < 256 ? total - s : 256;
      seg_table(d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, x, zero, cols, tab, rows);
      gemm_seg_t(mrows, cout, rows, run, m0, tab, rows, dy + s * cout, cout, dw + m0 * cout, cout, s > 0, work);
    }
    return;
  }
  for (u32 s = 0; s < total; s += chunk) {
    u32 rows = total - s < chunk ? total - s : chunk;
    walk(0, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, (float *)x, cols);
    gemm(mrows, cout, rows, cols + m0, kk, 1, dy + s * cout, cout, 0, dw + m0 * cout, cout, s > 0, 0, work);
  }
}

/*
 * The filter gradient's products per unit of 256 patch rows (the GEMM's depth block KC): for
 * the units u ∈ [u0, u0 + count), parts[(u − u0)·kk·cout …] = im2col(x)[rows 256u … 256u + 255]ᵀ
 * · dy[same rows] (from zero; the last unit may be shorter). conv_filter_rows adds exactly these
 * products into dw in unit order (one per depth block), so dw = ((part_0 + part_1) + part_2) + …
 * summed in unit order gives its bits: the Node pool splits the units over its threads (each
 * gathers only its own rows) and adds the parts in order. In place as conv_filter_rows.
 */
__attribute__((export_name("conv_filter_units"))) void conv_filter_units(u32 n, u32 d, u32 h, u32 w, u32 c, u32 kd, u32 kh,
                                                                        u32 kw, u32 sd, u32 sh, u32 sw, u32 pf, u32 pt,
                                                                        u32 pl, u32 dout, u32 ho, u32 wo, const float *x,
                                                                        const float *dy, float *parts, u32 cout, u32 u0,
                                                                        u32 count, float *cols, float *work) {
  u32 kk = kd * kh * kw * c;
  u32 total = n * dout * ho * wo;
  u32 run = kw * c;
  int inplace = filter_inplace(run, kd * kh, cout, 0, kk);
  float *zero = work;
  u32 *tab = (u32 *)(work + run);
  if (inplace) copy_run(zero, 0, run);
  for (u32 u = u0; u < u0 + count; u++) {
    u32 s = u * 256;
    u32 rows = total - s < 256 ? total - s : 256;
    float *part = parts + (u - u0) * kk * cout;
    if (inplace) {
      seg_table(d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, x, zero, cols, tab, rows);
      gemm_seg_t(kk, cout, rows, run, 0, tab, rows, dy + s * cout, cout, part, cout, 0, work);
      continue;
    }
    walk(0, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, s, rows, (float *)x, cols);
    gemm(kk, cout, rows, cols, kk, 1, dy + s * cout, cout, 0, part, cout, 0, 0, work);
  }
}

/* out = ((parts[0] + parts[1]) + parts[2]) + … over `units` parts of `size` floats (in place in parts[0]). */
__attribute__((export_name("conv_filter_sum"))) void conv_filter_sum(float *parts, u32 units, u32 size) {
  for (u32 u = 1; u < units; u++) add_run(parts, parts + u * size, size);
}
