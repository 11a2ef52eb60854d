"""PyTorch's large-GEMM rate for the hardware floor of `npm run bench` (bench/lib/floor.ts).

Times torch.mm on [n, n]·[n, n] float32 (default n = 2048) with torch.set_num_threads(t) (and OpenBLAS capped alike: common.set_threads) for
each requested t and prints one JSON line (protocol of common.py; each result carries "gemm":
milliseconds per product and "size": n). The floor uses the best repetition: on a shared machine
load only slows a run down, so the fastest one is the closest to what the hardware does.

With --conv, each result also carries "conv2d" and "conv3d" (milliseconds per call) and their
multiply-adds ("conv2d_macs", "conv3d_macs"): F.conv2d / F.conv3d forward at the bench encoders'
main shapes (3×3, 64 channels at 32×32, batch 16; 3×3×3, 16 channels at 16×32×32, batch 4).
PyTorch runs convolutions on oneDNN, not on its BLAS: on a CPU the BLAS does not tune for, they
can run well above torch.mm's rate (bench/README.md, "The conv-rate floor").

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
    p.add_argument("--conv", action="store_true", help="also time the encoders' convolutions")
    args = p.parse_args()
    torch = import_torch()
    n = args.size
    torch.manual_seed(0)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    import torch.nn.functional as F  # noqa: PLC0415

    x2, w2 = torch.randn(16, 64, 32, 32), torch.randn(64, 64, 3, 3)
    x3, w3 = torch.randn(4, 16, 16, 32, 32), torch.randn(16, 16, 3, 3, 3)
    convs = {
        "conv2d": (lambda: F.conv2d(x2, w2, padding=1), 16 * 32 * 32 * 64 * 64 * 9),
        "conv3d": (lambda: F.conv3d(x3, w3, padding=1), 4 * 16 * 32 * 32 * 16 * 16 * 27),
    }

    def timed(fn, warmup):
        for _ in range(warmup):
            fn()
        samples = []
        spent = 0.0
        for _ in range(args.reps):
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            samples.append(dt * 1000.0)
            spent += dt
            if spent > args.max_seconds and len(samples) >= 3:
                break
        return samples

    results = []
    for t in [int(x) for x in args.threads.split(",") if x]:
        set_threads(torch, t)
        result = {
            "threads": torch.get_num_threads(), "size": n, "gemm": timed(lambda: torch.mm(a, b), args.warmup), "forward": [], "train": [],
            "forward_warmup": args.warmup, "train_warmup": 0,
        }
        if args.conv:
            for name, (fn, macs) in convs.items():
                result[name] = timed(fn, args.warmup + 3)  # oneDNN builds its kernel on the first calls
                result[name + "_macs"] = macs
        result["max_rss_kb"] = max_rss_kb()
        results.append(result)
    emit({"status": "ok", "torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0], "results": results})


if __name__ == "__main__":
    main()
