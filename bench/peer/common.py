"""Shared helpers of the PyTorch peers of `npm run bench` (bench/run.ts).

Protocol: a peer script prints exactly one JSON object on stdout, either
  {"status": "ok", "torch": ..., "blas": ..., "python": ..., "results": [
     {"threads": n, "forward": [ms, ...], "train": [ms, ...], "forward_warmup": w,
      "train_warmup": w, "max_rss_kb": kb, "loss": x}, ...]}
or {"status": "not installed", "error": ...} when torch cannot be imported (exit code 0).
Statistics (median, IQR) are computed on the Node side, identically for every column.

With --serve the peer first prints its status line ({"status": "ok", "torch": ..., "blas": ...,
"python": ...} or "not installed"), then answers requests, one JSON object per line on stdin:
  {"threads": n, "phase": "forward" | "train" | "gemm", "reps": k}  ->  {"samples": [ms, ...]}
  {"cmd": "quit"}                                                    ->  exits
so that bench/run.ts can interleave PyTorch steps with tfjs steps (load from other processes then
hits both sides alike). Each sample is timed inside this process (pipe latency excluded).

Install (Debian): apt-get install python3-torch libopenblas0-pthread. Without
libopenblas0-pthread torch falls back to the reference BLAS (~2.5 GFLOP/s).
"""
import argparse
import json
import resource
import sys
import time


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (torch.set_num_threads)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--max-seconds", type=float, default=20.0, help="soft budget per timed series")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--serve", action="store_true",
                   help="answer timing requests on stdin (one JSON per line) for interleaved runs")
    return p.parse_args()


def import_torch():
    """Returns the torch module, or prints the 'not installed' answer and exits 0."""
    try:
        import torch  # noqa: PLC0415
    except Exception as e:  # ImportError, or a broken BLAS library
        emit({"status": "not installed", "error": f"{type(e).__name__}: {e}"})
        sys.exit(0)
    return torch


def blas_library():
    """Path of the BLAS shared library actually mapped into this process (Linux), and OpenBLAS's
    core (the kernels it chose for this CPU, e.g. "libopenblasp-r0.3.21.so (core Cooperlake)")."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    core = blas_core()
    return (", ".join(sorted(libs)) or "none mapped") + (f" (core {core})" if core else "")


def blas_core():
    """The core OpenBLAS picked its kernels for (openblas_get_corename), or None without OpenBLAS.

    A DYNAMIC_ARCH OpenBLAS reads the CPU model and falls back to a generic core when it does not
    know it: Debian's 0.3.21 called an Intel Xeon of model 207 (Emerald Rapids, AVX-512)
    "Prescott" (SSE3 kernels), and torch.mm ran at 14 GFLOP/s per core, against 99 with
    OPENBLAS_CORETYPE=Cooperlake. bench/lib/peer.ts (chooseBlasCore) probes the cores this CPU
    can run and gives the peers the fastest.
    """
    import ctypes  # noqa: PLC0415

    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "/" in line and "openblas" in line.lower()})
    except OSError:
        return None
    for path in libs:
        try:
            fn = getattr(ctypes.CDLL(path), "openblas_get_corename", None)
        except OSError:
            continue
        if fn is not None:
            fn.restype = ctypes.c_char_p
            return fn().decode()
    return None


_blas_setters = None


def _blas_thread_setters():
    """The thread-count setters of the BLAS libraries mapped into this process (OpenBLAS, MKL)."""
    import ctypes  # noqa: PLC0415

    setters = []
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "/" in line and ("blas" in line.lower() or "mkl" in line.lower())})
    except OSError:
        libs = []
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_set_num_threads", "mkl_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                setters.append(fn)
    return setters


def set_threads(torch, n):
    """torch.set_num_threads(n), and the same cap on the BLAS library's own thread pool.

    torch.set_num_threads does not reach a system OpenBLAS (Debian's python3-torch with
    libopenblas0-pthread): without the cap, torch.mm at "1 thread" ran on every core (measured on
    a 2-core AMD EPYC: 227 GFLOP/s, against 126 with OpenBLAS capped at 1 thread), which doubled
    the 1-thread floor and made the 2-thread steps slower than the 1-thread ones (OpenMP and
    OpenBLAS threads competing for 2 cores).
    """
    global _blas_setters
    torch.set_num_threads(n)
    if _blas_setters is None:
        _blas_setters = _blas_thread_setters()
    for fn in _blas_setters:
        fn(n)


def time_series(fn, warmup, reps, max_seconds):
    """Runs fn warmup times, then up to reps timed runs (stops after max_seconds). Returns ms list."""
    for _ in range(warmup):
        fn()
    samples = []
    spent = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        samples.append(dt * 1000.0)
        spent += dt
        if spent > max_seconds and len(samples) >= 3:
            break
    return samples


def max_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(torch, make_runner, info):
    """Request loop of --serve mode. make_runner(threads) -> {phase: callable}, cached per n."""
    emit({"status": "ok", **info})
    runners = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            n = int(req["threads"])
            set_threads(torch, n)
            if n not in runners:
                runners[n] = make_runner(n)
            fn = runners[n][req["phase"]]
            emit({"samples": time_series(fn, 0, int(req.get("reps", 1)), float("inf"))})
        except Exception as e:  # answer instead of dying: the caller reports it
            emit({"error": f"{type(e).__name__}: {e}"})
