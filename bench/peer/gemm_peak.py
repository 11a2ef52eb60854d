"""PyTorch's large-GEMM rate for the hardware floor of `npm run bench` (bench/lib/floor.ts).

Times torch.mm on [n, n]·[n, n] float32 (default n = 2048) with torch.set_num_threads(t) (and OpenBLAS capped alike: common.set_threads) for
each requested t and prints one JSON line (protocol of common.py; each result carries "gemm":
milliseconds per product and "size": n). The floor uses the best repetition: on a shared machine
load only slows a run down, so the fastest one is the closest to what the hardware does.

    /usr/bin/python3 bench/peer/gemm_peak.py --threads 1,2 --warmup 2 --reps 7 --size 2048
"""
import argparse
import sys
import time

from common import blas_library, emit, import_torch, max_rss_kb, set_threads


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--max-seconds", type=float, default=10.0)
    args = p.parse_args()
    torch = import_torch()
    n = args.size
    torch.manual_seed(0)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    results = []
    for t in [int(x) for x in args.threads.split(",") if x]:
        set_threads(torch, t)
        for _ in range(args.warmup):
            torch.mm(a, b)
        samples = []
        spent = 0.0
        for _ in range(args.reps):
            t0 = time.perf_counter()
            torch.mm(a, b)
            dt = time.perf_counter() - t0
            samples.append(dt * 1000.0)
            spent += dt
            if spent > args.max_seconds and len(samples) >= 3:
                break
        results.append({
            "threads": torch.get_num_threads(), "size": n, "gemm": samples, "forward": [], "train": [],
            "forward_warmup": args.warmup, "train_warmup": 0, "max_rss_kb": max_rss_kb(),
        })
    emit({"status": "ok", "torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0], "results": results})


if __name__ == "__main__":
    main()
