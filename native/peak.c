/*
 * The WebAssembly multiply-add peak: the ceiling no wasm GEMM can pass on this engine and CPU
 * (bench/lib/floor.ts times it in every `npm run bench`).
 *
 *   peak(iters, x, y): NACC independent chains acc = acc·x + y over f32x4, registers only
 *
 * One multiply-add per lane and step (2 flops): plain simd128 as f32x4.mul + f32x4.add, or,
 * built with -DRELAXED=1 -mrelaxed-simd, one f32x4.relaxed_madd (an FMA where the CPU has one).
 * NACC = 12 chains hide the latency of both (measured 8/10/12/14 under V8 11.3, Node 20, on an
 * Intel Xeon with AVX-512: 12 was best for both builds) and leave V8 registers for x and y.
 * Choose x < 1 and y > 0 small (e.g. 0.9999999, 1e-7): the chains converge, no denormals.
 * No memory, no data, no stack (scripts/build-wasm.mjs builds it without libc).
 */
#include <wasm_simd128.h>

#ifndef NACC
#define NACC 12
#endif
#ifndef RELAXED
#define RELAXED 0
#endif
#if RELAXED
#define MADD(acc, a, b) wasm_f32x4_relaxed_madd(acc, a, b)
#else
#define MADD(acc, a, b) wasm_f32x4_add(wasm_f32x4_mul(acc, a), b)
#endif

/** Runs `iters` steps of NACC chains (NACC·4 multiply-adds each); returns a lane of their sum. */
__attribute__((export_name("peak"))) float peak(unsigned iters, float x, float y) {
  v128_t a = wasm_f32x4_splat(x), b = wasm_f32x4_splat(y);
  v128_t acc[NACC];
#pragma clang loop unroll(full)
  for (int i = 0; i < NACC; i++) acc[i] = wasm_f32x4_splat((float)i);
  for (unsigned n = 0; n < iters; n++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < NACC; i++) acc[i] = MADD(acc[i], a, b);
  }
  v128_t s = acc[0];
#pragma clang loop unroll(full)
  for (int i = 1; i < NACC; i++) s = wasm_f32x4_add(s, acc[i]);
  return wasm_f32x4_extract_lane(s, 0);
}

/** Multiply-adds per lane-step of one `peak` iteration (flops = 2 · 4 · this · iters). */
__attribute__((export_name("chains"))) unsigned chains(void) { return NACC; }
