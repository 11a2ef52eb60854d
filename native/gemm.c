/*
 * vdafm single-threaded f32 GEMM for WebAssembly SIMD: simd128 (mul + add), or, built with
 * -DRELAXED=1 -mrelaxed-simd, f32x4.relaxed_madd (a fused multiply-add on CPUs with FMA).
 *
 *   C[M,N] = op(A)[M,K] · op(B)[K,N]  (+ C if beta) (+ bias[N] broadcast over rows)
 *
 * op(A) = A ([M,K], row-major) or Aᵀ (A stored [K,M]) when transA; likewise op(B) = B ([K,N])
 * or Bᵀ (B stored [N,K]) when transB. The transposes are absorbed by the packing step.
 *
 * Goto/BLIS layout: for each NC-wide column block of B and each KC-deep slice of K, B is packed
 * into NR-wide column panels (contiguous KC×NR), then for each MC-high row block of A, A is
 * packed into MR-high row panels (contiguous KC×MR, k-major) and an MR×NR register-blocked
 * micro-kernel runs over every (A panel, B panel) pair. Panels are zero-padded, so the kernel
 * always computes a full tile; partial tiles are written through a small scratch tile.
 *
 * Built without libc and without any static data or stack use (see scripts/build-wasm.mjs): the
 * module IMPORTS its memory (`env.memory`), so it can run inside tfjs-backend-wasm's own heap on
 * tensor pointers (no copies), or in a memory of its own. Every pointer, including the packing
 * workspace, comes from the caller.
 */
#include <wasm_simd128.h>

#ifndef MR
#define MR 4
#endif
#ifndef NR
#define NR 8
#endif
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 64
#endif
#ifndef NC
#define NC 1024
#endif
#define NV (NR / 4)
_Static_assert(NR % 4 == 0, "NR must be a multiple of 4");
_Static_assert(MC % MR == 0 && NC % NR == 0, "MC and NC must be multiples of MR and NR");

typedef unsigned int u32;

#ifndef SPLATA
#define SPLATA 0
#endif
/* With SPLATA, packed A holds each element 4 times (a ready f32x4 splat: a plain load instead
   of a load-and-broadcast in the micro-kernel). */
#define AW (SPLATA ? 4 : 1)
/* The workspace (caller-provided, see gemm_workspace_bytes): packed A, packed B, one scratch tile. */
#define WS_A (MC * KC * AW)
#define WS_B (KC * NC)
#define WS_TILE (MR * NR)

/** Bytes of workspace `gemm` needs (pass it 16-byte aligned). */
__attribute__((export_name("gemm_workspace_bytes"))) u32 gemm_workspace_bytes(void) {
  return (WS_A + WS_B + WS_TILE) * 4;
}

/* No libc: should clang ever lower a loop to memset/memcpy, linking fails (undefined symbol). */

#define PUT_A(dst, i, x)                                 \
  do {                                                   \
    if (SPLATA)                                          \
      wasm_v128_store((dst) + 4 * (i), wasm_f32x4_splat(x)); \
    else                                                 \
      (dst)[i] = (x);                                    \
  } while (0)

/*
 * Rows r0..r3 (4 consecutive floats each) → columns: c[k] = (r0[k], r1[k], r2[k], r3[k]). Two
 * rounds of shuffles (unpack low/high of 32-bit lanes, then of 64-bit halves).
 */
static inline void transpose4(v128_t r0, v128_t r1, v128_t r2, v128_t r3, v128_t c[4]) {
  v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
  v128_t t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  c[0] = wasm_i64x2_shuffle(t0, t2, 0, 2);
  c[1] = wasm_i64x2_shuffle(t0, t2, 1, 3);
  c[2] = wasm_i64x2_shuffle(t1, t3, 0, 2);
  c[3] = wasm_i64x2_shuffle(t1, t3, 1, 3);
}

/*
 * Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row panels: panel r holds kc groups of MR floats.
 * Full 4-row panels move as vectors (a 4×4 transpose per 4 k steps of a row-major A; one load
 * per k step of a transposed A); the values are copied, never computed, so every build and path
 * packs the same bits.
 */
static __attribute__((noinline)) void pack_a(float *dst, const float *A, u32 lda, int transA, u32 i0, u32 mc, u32 p0, u32 kc) {
  for (u32 ir = 0; ir < mc; ir += MR) {
    u32 mr = mc - ir < MR ? mc - ir : MR;
    if (!transA) {
      const float *src = A + (i0 + ir) * lda + p0;
      if (mr == MR) {
        u32 k = 0;
#if MR == 4 && !SPLATA
        for (; k + 4 <= kc; k += 4) {
          v128_t c[4];
          transpose4(wasm_v128_load(src + k), wasm_v128_load(src + lda + k), wasm_v128_load(src + 2 * lda + k),
                     wasm_v128_load(src + 3 * lda + k), c);
#pragma clang loop unroll(full)
          for (u32 q = 0; q < 4; q++) wasm_v128_store(dst + 4 * q, c[q]);
          dst += 16;
        }
#endif
        for (; k < kc; k++) {
#pragma clang loop unroll(full)
          for (u32 i = 0; i < MR; i++) PUT_A(dst, i, src[i * lda + k]);
          dst += MR * AW;
        }
      } else {
        for (u32 k = 0; k < kc; k++) {
          for (u32 i = 0; i < MR; i++) PUT_A(dst, i, i < mr ? src[i * lda + k] : 0.0f);
          dst += MR * AW;
        }
      }
    } else {
      const float *src = A + p0 * lda + i0 + ir;
      if (mr == MR) {
#if MR == 4 && !SPLATA
        for (u32 k = 0; k < kc; k++, dst += 4) wasm_v128_store(dst, wasm_v128_load(src + k * lda));
#else
        for (u32 k = 0; k < kc; k++) {
#pragma clang loop unroll(full)
          for (u32 i = 0; i < MR; i++) PUT_A(dst, i, src[k * lda + i]);
          dst += MR * AW;
        }
#endif
      } else {
        for (u32 k = 0; k < kc; k++) {
          for (u32 i = 0; i < MR; i++) PUT_A(dst, i, i < mr ? src[k * lda + i] : 0.0f);
          dst += MR * AW;
        }
      }
    }
  }
}

/* Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-column panels: panel c holds kc groups of NR floats. */
static void pack_b(float *dst, const float *B, u32 ldb, int transB, u32 p0, u32 kc, u32 j0, u32 nc) {
  for (u32 jr = 0; jr < nc; jr += NR) {
    u32 nr = nc - jr < NR ? nc - jr : NR;
    if (!transB) {
      const float *src = B + p0 * ldb + j0 + jr;
      if (nr == NR) {
        for (u32 k = 0; k < kc; k++) {
#pragma clang loop unroll(full)
          for (u32 v = 0; v < NV; v++)
            wasm_v128_store(dst + 4 * v, wasm_v128_load(src + k * ldb + 4 * v));
          dst += NR;
        }
      } else {
        for (u32 k = 0; k < kc; k++) {
          for (u32 j = 0; j < NR; j++) dst[j] = j < nr ? src[k * ldb + j] : 0.0f;
          dst += NR;
        }
      }
    } else {
      const float *src = B + (j0 + jr) * ldb + p0;
      if (nr == NR) {
        u32 k = 0;
        /* 4 k steps at a time: a 4×4 transpose per group of 4 columns */
        for (; k + 4 <= kc; k += 4) {
#pragma clang loop unroll(full)
          for (u32 v = 0; v < NV; v++) {
            const float *s4 = src + 4 * v * ldb + k;
            v128_t c[4];
            transpose4(wasm_v128_load(s4), wasm_v128_load(s4 + ldb), wasm_v128_load(s4 + 2 * ldb), wasm_v128_load(s4 + 3 * ldb), c);
#pragma clang loop unroll(full)
            for (u32 q = 0; q < 4; q++) wasm_v128_store(dst + q * NR + 4 * v, c[q]);
          }
          dst += 4 * NR;
        }
        for (; k < kc; k++) {
#pragma clang loop unroll(full)
          for (u32 j = 0; j < NR; j++) dst[j] = src[j * ldb + k];
          dst += NR;
        }
      } else {
        for (u32 k = 0; k < kc; k++) {
          for (u32 j = 0; j < NR; j++) dst[j] = j < nr ? src[j * ldb + k] : 0.0f;
          dst += NR;
        }
      }
    }
  }
}

/*
 * Loads with a constant byte offset folded into the instruction. Written as inline asm because
 * clang 14 emits `i32.add` + `load offset=0` for `p + 12` (it cannot prove the add does not
 * wrap), and V8 then spends one `lea` per load; with the offset immediate, V8 folds it into the
 * x64 addressing mode. The inner loop is front-end bound under V8 (about 31 x64 instructions
 * for 16 vector multiplies and adds per k step), so fewer instructions is speed (~5-10% here).
 */
#if __clang_major__ < 15
#define LDV(p, off)                                                                            \
  ({                                                                                           \
    v128_t r_;                                                                                 \
    __asm__ volatile("local.get %1\n\tv128.load %2\n\tlocal.set %0" : "=r"(r_) : "r"(p), "i"(off));        \
    r_;                                                                                        \
  })
#define LDS(p, off)                                                                            \
  ({                                                                                           \
    v128_t r_;                                                                                 \
    __asm__ volatile("local.get %1\n\tv128.load32_splat %2\n\tlocal.set %0" : "=r"(r_) : "r"(p), "i"(off)); \
    r_;                                                                                        \
  })

/*
 * An empty volatile asm that "uses and redefines" x: volatile asms keep their order, so the
 * update of x is computed here and not sunk below later loads (clang otherwise issues all the
 * loads of an unrolled step first, which makes V8 spill v128 registers).
 */
#define KEEP(x) __asm__ volatile("" : "+r"(x))
#else
/* clang 19's backend cannot take a v128 inline-asm operand ("Do not know how to split..."); it
   folds constant offsets into the load itself, and V8 then sees the same instructions. */
#define LDV(p, off) wasm_v128_load((const char *)(p) + (off))
#define LDS(p, off) wasm_v128_load32_splat((const char *)(p) + (off))
#define KEEP(x) ((void)0)
#endif

/* One multiply-add per lane: with RELAXED, f32x4.relaxed_madd (a fused multiply-add where the
   CPU has one: one rounding), else f32x4.mul + f32x4.add (two roundings). */
#if RELAXED
#define MADD(acc, a, b) wasm_f32x4_relaxed_madd(a, b, acc)
#else
#define MADD(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

#ifndef KU
#define KU 1
#endif

/*
 * One k step of a micro-kernel: the B vectors at b[u*NR..], and for each of the MR rows the A
 * value AV(u, i), already splat, multiplied into acc[i][·].
 */
#define KSTEP_GEN(u, AV)                                                                       \
  do {                                                                                         \
    v128_t bv[NV];                                                                             \
    _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++) bv[v] = LDV(b, 4 * ((u) * NR + 4 * v)); \
    _Pragma("clang loop unroll(full)") for (u32 i = 0; i < MR; i++) {                          \
      v128_t av = AV(u, i);                                                                    \
      _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++) {                        \
        acc[i][v] = MADD(acc[i][v], av, bv[v]);                                                \
        KEEP(acc[i][v]);                                                                       \
      }                                                                                        \
    }                                                                                          \
  } while (0)
/* A from a packed panel: a[u*MR + i] (or its ready splat with SPLATA). */
#define A_PACKED(u, i) (SPLATA ? LDV(a, 16 * ((u) * MR + (i))) : LDS(a, 4 * ((u) * MR + (i))))
#define KSTEP(u) KSTEP_GEN(u, A_PACKED)

/* The start of a micro-kernel: acc[MR][NV] = 0. */
#define ZERO_TILE()                                                                            \
  do {                                                                                         \
    _Pragma("clang loop unroll(full)") for (u32 i = 0; i < MR; i++)                            \
      _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++) acc[i][v] = wasm_f32x4_splat(0.0f); \
  } while (0)
/* The end of a micro-kernel: C = acc (+ bias) (+ C if accumulate), for the tile acc[MR][NV]. */
#define STORE_TILE()                                                                           \
  do {                                                                                         \
    if (bias) {                                                                                \
      _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++) {                        \
        v128_t bb = wasm_v128_load(bias + 4 * v);                                              \
        _Pragma("clang loop unroll(full)") for (u32 i = 0; i < MR; i++) acc[i][v] = wasm_f32x4_add(acc[i][v], bb); \
      }                                                                                        \
    }                                                                                          \
    if (accumulate) {                                                                          \
      _Pragma("clang loop unroll(full)") for (u32 i = 0; i < MR; i++)                          \
        _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++)                        \
          wasm_v128_store(C + i * ldc + 4 * v, wasm_f32x4_add(wasm_v128_load(C + i * ldc + 4 * v), acc[i][v])); \
    } else {                                                                                   \
      _Pragma("clang loop unroll(full)") for (u32 i = 0; i < MR; i++)                          \
        _Pragma("clang loop unroll(full)") for (u32 v = 0; v < NV; v++) wasm_v128_store(C + i * ldc + 4 * v, acc[i][v]); \
    }                                                                                          \
  } while (0)

/*
 * The micro-kernel: acc[MR][NV] = Σ_k a_k ⊗ b_k over kc packed steps of the A panel `a` and
 * the B panel `b`, then C = acc (+ C if accumulate) (+ bias if bias != 0). C has row stride ldc.
 * The k loop can be unrolled KU times; 1 is best under V8 11: V8 was seen to unroll the loop
 * itself (x2) when it sits deep in the tile loops, not when the micro-kernel is a function of
 * its own (its unroll heuristic appears to grow with the loop depth), which is one reason the
 * micro-kernel is inlined (KERNEL_INLINE); a manually unrolled body
 * gets all its loads hoisted to the top by V8's scheduler, which needs more than the 15 xmm
 * registers V8 allocates and spills.
 */
#ifndef KERNEL_INLINE
#define KERNEL_INLINE 1
#endif
#if KERNEL_INLINE
#define KERNEL_ATTR static inline __attribute__((always_inline))
#else
#define KERNEL_ATTR static __attribute__((noinline))
#endif
KERNEL_ATTR void kernel(u32 kc, const float *a, const float *b, float *C, u32 ldc, int accumulate,
                                             const float *bias) {
  v128_t acc[MR][NV];
  ZERO_TILE();
#ifndef KLOOP
#define KLOOP 0
#endif
  u32 k = 0;
#if KLOOP == 1
  /* the B pointer is the loop counter */
  for (const float *bend = b + (kc / KU) * KU * NR; b != bend;) {
#pragma clang loop unroll(full)
    for (u32 u = 0; u < KU; u++) KSTEP(u);
    a += KU * MR * AW;
    b += KU * NR;
  }
  k = (kc / KU) * KU;
#elif KLOOP == 2
  /* count down (kc >= 1) */
  for (u32 n = kc / KU; n; n--) {
#pragma clang loop unroll(full)
    for (u32 u = 0; u < KU; u++) KSTEP(u);
    a += KU * MR * AW;
    b += KU * NR;
  }
  k = (kc / KU) * KU;
#else
  for (; k + KU <= kc; k += KU) {
#pragma clang loop unroll(full)
    for (u32 u = 0; u < KU; u++) KSTEP(u);
    a += KU * MR * AW;
    b += KU * NR;
  }
#endif
#if KU > 1
#pragma clang loop unroll(disable)
  for (; k < kc; k++) {
    KSTEP(0);
    a += MR * AW;
    b += NR;
  }
#endif
  STORE_TILE();
}

/*
 * The last rows of a block (mr < MR) of a full-width panel, one row at a time: the tile's
 * arithmetic per element (acc = MADD over k from 0, + bias, + C), so the same bits, without
 * computing the MR − mr rows that are thrown away (a 49-row block: 12.25 tiles of work, not 13).
 */
static __attribute__((noinline)) void kernel_rows(u32 kc, const float *a, const float *b, float *C, u32 ldc, u32 mr,
                                                  int accumulate, const float *bias) {
  for (u32 i = 0; i < mr; i++) {
    v128_t acc[NV];
#pragma clang loop unroll(full)
    for (u32 v = 0; v < NV; v++) acc[v] = wasm_f32x4_splat(0.0f);
    const float *ak = a;
    const float *bk = b;
    for (u32 k = 0; k < kc; k++, ak += MR * AW, bk += NR) {
      v128_t av = SPLATA ? LDV(ak, 16 * i) : LDS(ak, 4 * i);
#pragma clang loop unroll(full)
      for (u32 v = 0; v < NV; v++) acc[v] = MADD(acc[v], av, LDV(bk, 16 * v));
    }
    float *c = C + i * ldc;
#pragma clang loop unroll(full)
    for (u32 v = 0; v < NV; v++) {
      v128_t x = bias ? wasm_f32x4_add(acc[v], wasm_v128_load(bias + 4 * v)) : acc[v];
      wasm_v128_store(c + 4 * v, accumulate ? wasm_f32x4_add(wasm_v128_load(c + 4 * v), x) : x);
    }
  }
}

/* C[:mr, :nr] = tile[:mr, :nr] (+ bias) (+ C if accumulate): the valid corner of a tile computed whole into scratch. */
static void tile_corner(const float *tile, float *C, u32 ldc, u32 mr, u32 nr, int accumulate, const float *bias) {
  for (u32 i = 0; i < mr; i++)
    for (u32 j = 0; j < nr; j++) {
      float x = tile[i * NR + j];
      if (bias) x += bias[j];
      if (accumulate) x += C[i * ldc + j];
      C[i * ldc + j] = x;
    }
}

/* A partial tile: compute the full tile into scratch, then copy the valid mr×nr corner. */
static __attribute__((noinline)) void kernel_edge(u32 kc, const float *a, const float *b, float *tile, float *C, u32 ldc, u32 mr, u32 nr,
                        int accumulate, const float *bias) {
  if (nr == NR) {
    kernel_rows(kc, a, b, C, ldc, mr, accumulate, bias);
    return;
  }
  kernel(kc, a, b, tile, NR, 0, 0);
  tile_corner(tile, C, ldc, mr, nr, accumulate, bias);
}

/*
 * Direct A: a product of at most DIRECT_N columns (a column block of at most DIRECT_N / NR
 * panels) reads op(A) in place instead of packing it: each 4-row panel of A is then used only by
 * those few panels of B, so the packing copy costs more than its contiguity saves (a convolution
 * at 16 or 32 output channels, whose patches were just gathered: [256, 432]·[432, 16] ran at 46.0
 * GFLOP/s packed, 53.1 direct, relaxed, one thread, Zen 4; N = 64: 50.5 → 52.8; N = 128 lost
 * where lda aliases in L1). kernel_direct reads rows a, a + lda, a + 2·lda, a + 3·lda at step k
 * (A row-major), or the 4 consecutive floats at a + k·lda (A transposed). A transposed A whose lda
 * is a multiple of 1024 floats stays packed: its k steps, 4 KB apart, share an L1 set (33.6 →
 * 27.9 GFLOP/s direct). Per element the same arithmetic as `kernel` (acc = MADD over k from 0,
 * + bias, + C): the same bits as the packed path.
 */
#ifndef DIRECT_N
#define DIRECT_N 64
#endif
#ifndef DIRECT_T
#define DIRECT_T 1
#endif
/* A in place: row i at a + i·lda (row-major A), or a + i (transposed A, a at step k). */
#define A_DIRECT(u, i) wasm_v128_load32_splat(transA ? a + (i) : a + (i) * lda)
KERNEL_ATTR void kernel_direct(u32 kc, const float *a, u32 lda, int transA, const float *b, float *C, u32 ldc, int accumulate,
                               const float *bias) {
  v128_t acc[MR][NV];
  ZERO_TILE();
  for (u32 k = 0; k < kc; k++) {
    KSTEP_GEN(0, A_DIRECT);
    a += transA ? lda : 1;
    b += NR;
  }
  STORE_TILE();
}

/* A full-height tile of a narrow panel (nr < NR) with direct A: the full tile into scratch, then the valid corner. */
static __attribute__((noinline)) void kernel_direct_edge(u32 kc, const float *a, u32 lda, int transA, const float *b,
                                                         float *tile, float *C, u32 ldc, u32 nr, int accumulate,
                                                         const float *bias) {
  kernel_direct(kc, a, lda, transA, b, tile, NR, 0, 0);
  tile_corner(tile, C, ldc, MR, nr, accumulate, bias);
}

/*
 * Segmented A, for native/conv.c's convolutions (their patches read in place, never gathered):
 * row i of the patch matrix [rows, K] is K / run segments of `run` floats, each anywhere in
 * memory; tab[s·ld + i] points at segment s of row i. Per element the arithmetic of `kernel`
 * (acc = MADD over k from 0 within each KC-deep block, then C = acc, or C + acc for later blocks
 * or with beta): the same bits as gemm() of the gathered patch matrix (M ≥ MR there; gemm_rows
 * sums otherwise).
 *
 * kernel_seg: 4 (MR) patch rows × NR columns of the forward product, A = the rows, at step k
 * their floats k; sp = the table of the group's first row.
 */
#define A_SEG(u, i) wasm_v128_load32_splat(ap[i])
KERNEL_ATTR void kernel_seg(u32 kc, u32 p0, u32 run, const u32 *seg, u32 ld, const float *b, float *C, u32 ldc, int accumulate) {
  const float *bias = 0;
  v128_t acc[MR][NV];
  ZERO_TILE();
  u32 s = p0 / run, off = p0 - s * run;
  for (u32 k = 0; k < kc; s++, off = 0) {
    u32 len = run - off < kc - k ? run - off : kc - k;
    const u32 *sp = seg + s * ld;
    const float *ap[MR];
#pragma clang loop unroll(full)
    for (u32 i = 0; i < MR; i++) ap[i] = (const float *)sp[i] + off;
    k += len;
    for (; len; len--) {
      KSTEP_GEN(0, A_SEG);
#pragma clang loop unroll(full)
      for (u32 i = 0; i < MR; i++) ap[i]++;
      b += NR;
    }
  }
  STORE_TILE();
}

/*
 * kernel_seg_t: MR columns m … m + MR − 1 of the patch matrix, transposed (the filter gradient's
 * A), × NR columns of B: at step k the MR floats at ptrs[k] + off (one patch row's segment).
 */
#define A_ROW(u, i) wasm_v128_load32_splat(a + (i))
KERNEL_ATTR void kernel_seg_t(u32 kc, const u32 *ptrs, u32 off, const float *b, float *C, u32 ldc, int accumulate) {
  const float *bias = 0;
  v128_t acc[MR][NV];
  ZERO_TILE();
  for (u32 k = 0; k < kc; k++) {
    const float *a = (const float *)ptrs[k] + off;
    KSTEP_GEN(0, A_ROW);
    b += NR;
  }
  STORE_TILE();
}

/* Rows per group of the segmented products (MR), and the floats of the workspace's packed-A
   region, which they leave free for the caller's table (and run of zeros). */
u32 gemm_seg_group(void) { return MR; }
u32 gemm_seg_room(void) { return WS_A; }

/*
 * The tile loops of gemm()'s direct path over one KC-deep block (B packed at packB): 64-row
 * blocks, 8-column panels, 4-row tiles. TILE(row, bp, c, ldc, accumulate) computes the tile of
 * rows row … and B panel bp into c: a whole MR × NR tile straight into C, a partial one into the
 * scratch tile, whose valid corner tile_corner then stores.
 */
#define SEG_TILE_LOOPS(TILE)                                                                   \
  for (u32 i0 = 0; i0 < M; i0 += MC) {                                                         \
    u32 mc = M - i0 < MC ? M - i0 : MC;                                                        \
    for (u32 jr = 0; jr < N; jr += NR) {                                                       \
      u32 nr = N - jr < NR ? N - jr : NR;                                                      \
      const float *bp = packB + jr * kc;                                                       \
      for (u32 ir = 0; ir < mc; ir += MR) {                                                    \
        u32 row = i0 + ir;                                                                     \
        u32 mr = M - row < MR ? M - row : MR;                                                  \
        float *c = C + row * ldc + jr;                                                         \
        if (mr == MR && nr == NR)                                                              \
          TILE(row, bp, c, ldc, accumulate);                                                   \
        else {                                                                                 \
          TILE(row, bp, tile, NR, 0);                                                          \
          tile_corner(tile, c, ldc, mr, nr, accumulate, 0);                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

/*
 * C[M, N] = A·B (no bias, no beta), A [M, K] the segmented patch rows (tab, ld ≥ M rounded up
 * to MR: a short last group's missing rows repeat a real one), B [K, N] row-major (ldb), N ≤ NC.
 * Per KC-deep block, B packed, then SEG_TILE_LOOPS. `work`: gemm()'s workspace; its packed-A
 * region may hold the table.
 */
#define SEG_FORWARD(row, bp, c, ldc, acc) kernel_seg(kc, p0, run, tab + (row), ld, bp, c, ldc, acc)
void gemm_seg(u32 M, u32 N, u32 K, u32 run, const u32 *tab, u32 ld, const float *B, u32 ldb, float *C, u32 ldc,
              float *work) {
  float *packB = work + WS_A;
  float *tile = packB + WS_B;
  for (u32 p0 = 0; p0 < K; p0 += KC) {
    u32 kc = K - p0 < KC ? K - p0 : KC;
    int accumulate = p0 > 0;
    pack_b(packB, B, ldb, 0, p0, kc, 0, N);
    SEG_TILE_LOOPS(SEG_FORWARD);
  }
}

/*
 * C[M, N] (+)= Aᵀ·B over K patch rows: rows m0 … m0 + M − 1 of the filter gradient, A = the
 * segmented patch rows (tab[s·ld + k]: segment s of patch row k; run a multiple of MR and m0 of
 * MR, so that MR consecutive columns lie in one segment), B = dy [K, N] row-major (ldb), N ≤ NC,
 * C + C if beta. Per KC-deep block, B packed, then SEG_TILE_LOOPS.
 */
#define SEG_FILTER(row, bp, c, ldc, acc) \
  kernel_seg_t(kc, tab + (m0 + (row)) / run * ld + p0, (m0 + (row)) % run, bp, c, ldc, acc)
void gemm_seg_t(u32 M, u32 N, u32 K, u32 run, u32 m0, const u32 *tab, u32 ld, const float *B, u32 ldb, float *C, u32 ldc,
                int beta, float *work) {
  float *packB = work + WS_A;
  float *tile = packB + WS_B;
  for (u32 p0 = 0; p0 < K; p0 += KC) {
    u32 kc = K - p0 < KC ? K - p0 : KC;
    int accumulate = p0 > 0 || beta;
    pack_b(packB, B, ldb, 0, p0, kc, 0, N);
    SEG_TILE_LOOPS(SEG_FILTER);
  }
}

/*
 * Where the tile loops live (all give the same values; speed under V8 11.3 on Zen 4, raw GFLOP/s
 * at [784,1024]x[1024,256]): 0 = inline in gemm with the micro-kernel inlined (43-46, shipped),
 * 1 = a separate function (41-43), 2 = a separate function holding the MC loop too (40-43).
 * Inlining into gemm only works because pack_a and kernel_edge are kept out of line: with them
 * inlined, V8's register allocator moved the accumulators to stack slots (26-30).
 */
#ifndef MACRO
#define MACRO 0
#endif
#if MACRO == 1
/*
 * Variant: all the tiles of one packed block, op(A)[mc×kc] (packA) times op(B)[kc×nc] (packB)
 * into C[mc×nc], in a function of its own with the micro-kernel inlined.
 */
static __attribute__((noinline)) void macro_kernel(u32 mc, u32 nc, u32 kc, const float *packA, const float *packB,
                                                   float *tile, float *C, u32 ldc, int accumulate, const float *bias) {
  for (u32 jr = 0; jr < nc; jr += NR) {
    u32 nr = nc - jr < NR ? nc - jr : NR;
    const float *bp = packB + jr * kc;
    const float *biasj = bias ? bias + jr : 0;
    for (u32 ir = 0; ir < mc; ir += MR) {
      u32 mr = mc - ir < MR ? mc - ir : MR;
      float *c = C + ir * ldc + jr;
      const float *ap = packA + ir * kc * AW;
      if (mr == MR && nr == NR)
        kernel(kc, ap, bp, c, ldc, accumulate, biasj);
      else
        kernel_edge(kc, ap, bp, tile, c, ldc, mr, nr, accumulate, biasj);
    }
  }
}
#endif

#if MACRO == 2
/* Variant: the MC loop (with the packing of A) inside too, one nesting level deeper. */
static __attribute__((noinline)) void macro_kernel2(u32 M, u32 nc, u32 kc, const float *A, u32 lda, int transA, u32 p0,
                                                    float *packA, const float *packB, float *tile, float *C, u32 ldc,
                                                    int accumulate, const float *bias) {
  for (u32 i0 = 0; i0 < M; i0 += MC) {
    u32 mc = M - i0 < MC ? M - i0 : MC;
    pack_a(packA, A, lda, transA, i0, mc, p0, kc);
    for (u32 jr = 0; jr < nc; jr += NR) {
      u32 nr = nc - jr < NR ? nc - jr : NR;
      const float *bp = packB + jr * kc;
      const float *biasj = bias ? bias + jr : 0;
      for (u32 ir = 0; ir < mc; ir += MR) {
        u32 mr = mc - ir < MR ? mc - ir : MR;
        float *c = C + (i0 + ir) * ldc + jr;
        const float *ap = packA + ir * kc * AW;
        if (mr == MR && nr == NR)
          kernel(kc, ap, bp, c, ldc, accumulate, biasj);
        else
          kernel_edge(kc, ap, bp, tile, c, ldc, mr, nr, accumulate, biasj);
      }
    }
  }
}
#endif

/*
 * Few rows (M < MR): a packed tile would be mostly padding and packing B would cost as much as
 * the product, so each output row is computed straight from the operands: with B [K,N] as a sum
 * of scaled rows of B (f32x4 over N), with B stored [N,K] as N dot products (f32x4 over K).
 */
static void gemm_rows(u32 M, u32 N, u32 K, const float *A, u32 lda, int transA, const float *B, u32 ldb, int transB,
                      float *C, u32 ldc, int beta, const float *bias) {
  for (u32 i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (!transB) {
      u32 j = 0;
      for (; j + 4 <= N; j += 4) {
        v128_t x = beta ? wasm_v128_load(c + j) : wasm_f32x4_splat(0.0f);
        if (bias) x = wasm_f32x4_add(x, wasm_v128_load(bias + j));
        wasm_v128_store(c + j, x);
      }
      for (; j < N; j++) c[j] = (beta ? c[j] : 0.0f) + (bias ? bias[j] : 0.0f);
      for (u32 k = 0; k < K; k++) {
        float a = transA ? A[k * lda + i] : A[i * lda + k];
        v128_t av = wasm_f32x4_splat(a);
        const float *b = B + k * ldb;
        for (j = 0; j + 4 <= N; j += 4)
          wasm_v128_store(c + j, MADD(wasm_v128_load(c + j), av, wasm_v128_load(b + j)));
        for (; j < N; j++) c[j] += a * b[j];
      }
    } else {
      for (u32 j = 0; j < N; j++) {
        const float *b = B + j * ldb;
        float s;
        if (!transA) {
          const float *a = A + i * lda;
          v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
          u32 k = 0;
          for (; k + 8 <= K; k += 8) {
            s0 = MADD(s0, wasm_v128_load(a + k), wasm_v128_load(b + k));
            s1 = MADD(s1, wasm_v128_load(a + k + 4), wasm_v128_load(b + k + 4));
          }
          s0 = wasm_f32x4_add(s0, s1);
          s = wasm_f32x4_extract_lane(s0, 0) + wasm_f32x4_extract_lane(s0, 1) + wasm_f32x4_extract_lane(s0, 2) +
              wasm_f32x4_extract_lane(s0, 3);
          for (; k < K; k++) s += a[k] * b[k];
        } else {
          s = 0.0f;
          for (u32 k = 0; k < K; k++) s += A[k * lda + i] * b[k];
        }
        c[j] = (beta ? c[j] : 0.0f) + s + (bias ? bias[j] : 0.0f);
      }
    }
  }
}

/**
 * C = op(A)·op(B) (+ C when beta != 0) (+ bias row when bias != 0; pass 0 for none).
 * `work` is a workspace of gemm_workspace_bytes() bytes (16-byte aligned).
 * All pointers are byte offsets into the memory; lda/ldb/ldc are row strides in floats
 * of the matrices as stored. Any of M, N, K may be 0 (K = 0 gives C = bias, or C + bias).
 */
__attribute__((export_name("gemm"))) void gemm(u32 M, u32 N, u32 K, const float *A, u32 lda, int transA,
                                                const float *B, u32 ldb, int transB, float *C, u32 ldc, int beta,
                                                const float *bias, float *work) {
  float *packA = work;
  float *packB = work + WS_A;
  float *tile = packB + WS_B;
  if (M < MR) {
    gemm_rows(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, beta, bias);
    return;
  }
  if (K == 0) {
    for (u32 i = 0; i < M; i++)
      for (u32 j = 0; j < N; j++) C[i * ldc + j] = (beta ? C[i * ldc + j] : 0.0f) + (bias ? bias[j] : 0.0f);
    return;
  }
  for (u32 j0 = 0; j0 < N; j0 += NC) {
    u32 nc = N - j0 < NC ? N - j0 : NC;
    for (u32 p0 = 0; p0 < K; p0 += KC) {
      u32 kc = K - p0 < KC ? K - p0 : KC;
      int accumulate = p0 > 0 || beta;
      const float *bias0 = p0 == 0 && bias ? bias + j0 : 0;
      pack_b(packB, B, ldb, transB, p0, kc, j0, nc);
#if MACRO == 2
      macro_kernel2(M, nc, kc, A, lda, transA, p0, packA, packB, tile, C + j0, ldc, accumulate, bias0);
#elif MACRO == 1
      for (u32 i0 = 0; i0 < M; i0 += MC) {
        u32 mc = M - i0 < MC ? M - i0 : MC;
        pack_a(packA, A, lda, transA, i0, mc, p0, kc);
        macro_kernel(mc, nc, kc, packA, packB, tile, C + i0 * ldc + j0, ldc, accumulate, bias0);
      }
#else /* variant: the tile loops inline in gemm */
      if (nc <= DIRECT_N && (!transA || (DIRECT_T && lda % 1024 != 0))) {
        /* direct A: full 4-row panels read A in place; only the last rows (M % MR) are packed */
        u32 full = M / MR * MR;
        if (full < M) pack_a(packA, A, lda, transA, full, M - full, p0, kc);
        for (u32 i0 = 0; i0 < M; i0 += MC) {
          u32 mc = M - i0 < MC ? M - i0 : MC;
          for (u32 jr = 0; jr < nc; jr += NR) {
            u32 nr = nc - jr < NR ? nc - jr : NR;
            const float *bp = packB + jr * kc;
            const float *biasj = bias0 ? bias0 + jr : 0;
            for (u32 ir = 0; ir < mc; ir += MR) {
              u32 row = i0 + ir;
              float *c = C + row * ldc + j0 + jr;
              if (row + MR > M)
                kernel_edge(kc, packA, bp, tile, c, ldc, M - row, nr, accumulate, biasj);
              else if (nr == NR)
                kernel_direct(kc, transA ? A + p0 * lda + row : A + row * lda + p0, lda, transA, bp, c, ldc, accumulate, biasj);
              else
                kernel_direct_edge(kc, transA ? A + p0 * lda + row : A + row * lda + p0, lda, transA, bp, tile, c, ldc, nr,
                                   accumulate, biasj);
            }
          }
        }
        continue;
      }
      for (u32 i0 = 0; i0 < M; i0 += MC) {
        u32 mc = M - i0 < MC ? M - i0 : MC;
        pack_a(packA, A, lda, transA, i0, mc, p0, kc);
        for (u32 jr = 0; jr < nc; jr += NR) {
          u32 nr = nc - jr < NR ? nc - jr : NR;
          const float *bp = packB + jr * kc;
          const float *biasj = bias0 ? bias0 + jr : 0;
          for (u32 ir = 0; ir < mc; ir += MR) {
            u32 mr = mc - ir < MR ? mc - ir : MR;
            float *c = C + (i0 + ir) * ldc + j0 + jr;
            const float *ap = packA + ir * kc * AW;
            if (mr == MR && nr == NR)
              kernel(kc, ap, bp, c, ldc, accumulate, biasj);
            else
              kernel_edge(kc, ap, bp, tile, c, ldc, mr, nr, accumulate, biasj);
          }
        }
      }
#endif
    }
  }
}

/** out[j] = Σ_i X[i, j] for X [M, N] row-major (the bias gradient). Pointers are byte offsets. */
__attribute__((export_name("colsum"))) void colsum(u32 M, u32 N, const float *X, float *out) {
  u32 j = 0;
  for (; j + 16 <= N; j += 16) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    const float *x = X + j;
    for (u32 i = 0; i < M; i++, x += N) {
      s0 = wasm_f32x4_add(s0, wasm_v128_load(x));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(x + 4));
      s2 = wasm_f32x4_add(s2, wasm_v128_load(x + 8));
      s3 = wasm_f32x4_add(s3, wasm_v128_load(x + 12));
    }
    wasm_v128_store(out + j, s0);
    wasm_v128_store(out + j + 4, s1);
    wasm_v128_store(out + j + 8, s2);
    wasm_v128_store(out + j + 12, s3);
  }
  for (; j + 4 <= N; j += 4) {
    v128_t s = wasm_f32x4_splat(0.0f);
    for (u32 i = 0; i < M; i++) s = wasm_f32x4_add(s, wasm_v128_load(X + i * N + j));
    wasm_v128_store(out + j, s);
  }
  for (; j < N; j++) {
    float s = 0.0f;
    for (u32 i = 0; i < M; i++) s += X[i * N + j];
    out[j] = s;
  }
}
