"""PyTorch peer of the VDAFM benchmark (bench/workloads/vdafm.ts), module from bench/peer/vdafm.py.

Workload (same on the tfjs side):
  visual [16, 49, 256], text [16, 64, 256] with a text mask (varied report lengths, one sample
  without a report), VDAFM(dim 256, 8 heads, 2 layers, ffnDim 512, embedDim 256, dropout 0.1,
  FiLM conditioning, gated fusion), clinical 'none'; variant 'late': 12 clinical tokens of width
  64 with a mask (~80 % valid).
  loss = BCE-with-logits(Linear(headInput) , labels) + dual alignment loss (temperature 0.07,
  visionAnchor on; + image<->clinical term in 'late'); Adam(lr 1e-4).
Forward = VDAFM forward in eval mode under torch.no_grad(); train step = zero_grad + forward in
training mode + head + losses + backward + Adam step. float32, CPU, torch.set_num_threads(n) and the BLAS library's threads (common.set_threads).

With --predict-reps k, also times k batch-1 inference calls (VDAFM + head + sigmoid, eval mode,
no_grad): the per-patient latency ("predict") of bench/workloads/vdafm.ts.

Run: /usr/bin/python3 bench/peer/vdafm_bench.py --threads 1 --variant none,late
Prints one JSON object (protocol of bench/peer/common.py, one result per variant and thread count).
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import blas_library, emit, import_torch, max_rss_kb, serve, set_threads, time_series  # noqa: E402

B, NV, NT, NC, D, HEADS, LAYERS, DC = 16, 49, 64, 12, 256, 8, 2, 64


def workload_masks(torch):
    """Text lengths 64, 60, ..., one sample (index 5) without report; clinical ~80 % valid."""
    text_mask = torch.zeros(B, NT)
    for b in range(B):
        n = 0 if b == 5 else NT - 4 * (b % 8)
        text_mask[b, :n] = 1
    g = torch.Generator().manual_seed(7)
    clinical_mask = (torch.rand(B, NC, generator=g) < 0.8).float()
    return text_mask, clinical_mask


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1", help="comma-separated thread counts (torch.set_num_threads)")
    p.add_argument("--variant", default="none,late", help="comma-separated clinical modes: none, late")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--max-seconds", type=float, default=20.0, help="soft budget per timed series")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict-reps", type=int, default=0,
                   help="also time batch-1 inference (per-patient latency) this many times")
    p.add_argument("--serve", action="store_true",
                   help="answer timing requests on stdin for the first --variant (common.py)")
    args = p.parse_args()
    torch = import_torch()
    from vdafm import VDAFM, dual_alignment_loss  # noqa: PLC0415 (needs torch)

    torch.manual_seed(args.seed)
    visual = torch.randn(B, NV, D)
    text = torch.randn(B, NT, D)
    clinical = torch.randn(B, NC, DC)
    text_mask, clinical_mask = workload_masks(torch)
    labels = (torch.arange(B) % 3 == 0).float().unsqueeze(-1)

    def make_runner(n, variant):
        late = variant == "late"
        set_threads(torch, n)
        torch.manual_seed(args.seed)
        model = VDAFM(D, D, DC if late else None, dim=D, numHeads=HEADS, numLayers=LAYERS, dropout=0.1,
                      conditioning="film", fusion="gated", clinical="late" if late else "none")
        head = torch.nn.Linear(2 * D if late else D, 1)
        params = list(model.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-4)
        inputs = (visual, text, text_mask) + ((clinical, clinical_mask) if late else ())

        def forward():
            model.eval()
            with torch.no_grad():
                out = model(*inputs)
            return float(out["headInput"][0, 0])

        inputs1 = tuple(t[:1].clone() for t in inputs)

        def predict():
            model.eval()
            with torch.no_grad():
                out = model(*inputs1)
                p = torch.sigmoid(head(out["headInput"]))
            return float(p[0, 0])

        def train():
            model.train()
            opt.zero_grad(set_to_none=True)
            out = model(*inputs)
            cls = torch.nn.functional.binary_cross_entropy_with_logits(head(out["headInput"]), labels)
            align = dual_alignment_loss(out, text_mask, clinical_mask if late else None, temperature=0.07)
            loss = cls + align["loss"]
            loss.backward()
            opt.step()
            return float(loss)

        return {"forward": forward, "train": train, "predict": predict}

    if args.serve:
        first = [v for v in args.variant.split(",") if v][0]
        serve(torch, lambda n: make_runner(n, first),
              {"torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0]})
        return
    results = []
    for variant in [v for v in args.variant.split(",") if v]:
        for n in [int(t) for t in args.threads.split(",") if t]:
            r = make_runner(n, variant)
            forward, train, predict = r["forward"], r["train"], r["predict"]
            fwd = time_series(forward, args.warmup, args.reps, args.max_seconds)
            trn = time_series(train, args.warmup, args.reps, args.max_seconds)
            extra = {}
            if args.predict_reps > 0:
                extra["predict"] = time_series(predict, args.warmup, args.predict_reps, args.max_seconds)
            results.append({
                **extra,
                "variant": variant,
                "threads": torch.get_num_threads(),
                "forward": fwd,
                "train": trn,
                "forward_warmup": args.warmup,
                "train_warmup": args.warmup,
                "max_rss_kb": max_rss_kb(),
                "loss": train(),
            })
    emit({
        "status": "ok",
        "torch": torch.__version__,
        "blas": blas_library(),
        "python": sys.version.split()[0],
        "results": results,
    })


if __name__ == "__main__":
    main()
