#!/usr/bin/env python3
"""Fits the polynomial coefficients used by native/fused.c (erf and exp in float32 SIMD).

    /usr/bin/python3 native/fit_erf.py      # prints the C #defines pasted into native/fused.c

Our own fits (numpy + scipy.special as the float64 reference), near-minimax via Lawson's
iteratively reweighted least squares; then the whole float32 evaluation (no FMA, the order of
operations of fused.c) is emulated over [0, 12] and its max absolute error against float64 erf
printed.

- exp(r), |r| <= ln2/2:  1 + r*(e1 + r*(e2 + ... r*e6)), relative error weight
- erf(a), a < C:         a * (s0 + s*(s1 + ... s*s5)), s = a*a
- erfc(a), a >= C:       exp(-a*a) * t*(l0 + t*(l1 + ... t*l7)), t = 1/(1 + P*a), relative error
                         weight up to a = 9 (GELU's left tail Phi(x) = erfc(|x|/sqrt2)/2 keeps its
                         relative accuracy; the absolute erf error is no worse)
"""
import numpy as np
from scipy.special import erf, erfcx

f = np.float32
C = 0.875
P = 0.6


def lawson(A, y, w0, iters=80):
    u = np.ones(len(y)) / len(y)
    for _ in range(iters):
        W = np.sqrt(u) * w0
        c, *_ = np.linalg.lstsq(A * W[:, None], y * W, rcond=None)
        e = np.abs((A @ c - y) * w0)
        u = u * e
        u /= u.sum()
    return c


r = np.linspace(-np.log(2) / 2 * 1.01, np.log(2) / 2 * 1.01, 20001)
exp_c = lawson(np.stack([r**k for k in range(1, 7)], 1), np.exp(r) - 1, np.exp(-r))
a = np.linspace(0, C, 20001)
small_c = lawson(np.stack([a * (a * a) ** k for k in range(6)], 1), erf(a), np.ones_like(a))
a = np.linspace(C, 9.0, 40001)
t = 1 / (1 + P * a)
large_c = lawson(np.stack([t ** (k + 1) for k in range(8)], 1), erfcx(a), 1 / erfcx(a))

exp_c, small_c, large_c = (np.array([f(v) for v in c]) for c in (exp_c, small_c, large_c))

LN2HI, LN2LO, LOG2E = f(0.693359375), f(-2.12194440e-4), f(1.44269504088896341)


def exp32(z):
    z = np.maximum(z, f(-87.0)).astype(f)
    n = np.rint(z * LOG2E).astype(f)
    rr = (z - n * LN2HI).astype(f)
    rr = (rr - n * LN2LO).astype(f)
    p = exp_c[-1]
    for k in exp_c[-2::-1]:
        p = (p * rr + k).astype(f)
    p = (p * rr + f(1)).astype(f)
    return (p * ((n.astype(np.int32) + 127) << 23).astype(np.int32).view(f)).astype(f)


def erf32(a):
    s = (a * a).astype(f)
    rs = small_c[-1]
    for k in small_c[-2::-1]:
        rs = (rs * s + k).astype(f)
    t = (f(1) / (f(1) + f(P) * a)).astype(f)
    rl = large_c[-1]
    for k in large_c[-2::-1]:
        rl = (rl * t + k).astype(f)
    return np.where(a < f(C), (a * rs).astype(f), (f(1) - exp32(-s) * (t * rl).astype(f)).astype(f))


if __name__ == '__main__':
    x = np.linspace(0, 12, 2400001).astype(f)
    err = np.abs(erf32(x).astype(float) - erf(x.astype(float)))
    print(f'/* fitted by native/fit_erf.py; float32 emulation: max |erf error| {err.max():.3g} at {x[err.argmax()]:.4f} */')
    print(f'#define ERF_SPLIT {C:.9g}f')
    print(f'#define ERFC_P {P:.9g}f')
    for name, cs in (('EXP', exp_c), ('ERF_S', small_c), ('ERFC_L', large_c)):
        for i, v in enumerate(cs):
            print(f'#define {name}{i + (1 if name == "EXP" else 0)} {float(v):.9e}f')
