"""PyTorch peer of the bench workload "cross-attention block" (bench/workloads/attention.ts).

Same architecture, shapes, loss and optimizer as the tfjs variants:
  x [16, 49, 256] (queries, e.g. 7x7 visual tokens), c [16, 64, 256] (context, e.g. text tokens)
  a = MHA(q = LN_q(x), kv = LN_kv(c)), 8 heads x 32, projections with bias
  x1 = x + a;  y = x1 + W2 GELU(W1 LN_f(x1) + b1) + b2, hidden 4 x 256 = 1024, exact GELU
  loss = mean(y ** 2);  Adam(lr = 1e-4)
Also times one GEMM [784,256]x[256,1024] (the block's largest product) for the GFLOP/s rate.
Forward is timed under torch.no_grad() (tfjs records no tape outside gradient calls); the train
step is zero_grad + forward + backward + Adam step. float32, CPU, torch.set_num_threads(n) and the BLAS library's threads (common.set_threads).

Run: /usr/bin/python3 bench/peer/attention_block.py --threads 1,2 --warmup 3 --reps 15
     (or --serve: timing requests on stdin, see common.py)
Prints one JSON object (see common.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import blas_library, emit, import_torch, max_rss_kb, parse_args, serve, set_threads, time_series  # noqa: E402

B, NQ, NK, D, HEADS, HIDDEN = 16, 49, 64, 256, 8, 1024


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch = import_torch()
    nn = torch.nn

    class CrossAttentionBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm_q = nn.LayerNorm(D, eps=1e-5)
            self.norm_kv = nn.LayerNorm(D, eps=1e-5)
            self.attn = nn.MultiheadAttention(D, HEADS, bias=True, batch_first=True)
            self.norm_ffn = nn.LayerNorm(D, eps=1e-5)
            self.ffn = nn.Sequential(nn.Linear(D, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, D))

        def forward(self, x, c):
            kv = self.norm_kv(c)
            a, _ = self.attn(self.norm_q(x), kv, kv, need_weights=False)
            x1 = x + a
            return x1 + self.ffn(self.norm_ffn(x1))

    torch.manual_seed(args.seed)
    x = torch.randn(B, NQ, D)
    c = torch.randn(B, NK, D)
    ga, gb = torch.randn(B * NQ, D), torch.randn(D, HIDDEN)

    def make_runner(n):
        set_threads(torch, n)
        model = CrossAttentionBlock()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)

        def forward():
            with torch.no_grad():
                y = model(x, c)
            return float(y[0, 0, 0])

        def train():
            opt.zero_grad(set_to_none=True)
            loss = model(x, c).pow(2).mean()
            loss.backward()
            opt.step()
            return float(loss)

        return {"forward": forward, "train": train, "gemm": lambda: torch.mm(ga, gb)}

    info = {"torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0]}
    if args.serve:
        serve(torch, make_runner, info)
        return
    results = []
    for n in [int(t) for t in args.threads.split(",") if t]:
        set_threads(torch, n)
        r = make_runner(n)
        gemm = time_series(r["gemm"], args.warmup, args.reps, args.max_seconds)
        fwd = time_series(r["forward"], args.warmup, args.reps, args.max_seconds)
        trn = time_series(r["train"], args.warmup, args.reps, args.max_seconds)
        results.append({
            "threads": torch.get_num_threads(),
            "forward": fwd,
            "train": trn,
            "gemm": gemm,
            "forward_warmup": args.warmup,
            "train_warmup": args.warmup,
            "max_rss_kb": max_rss_kb(),
            "loss": r["train"](),
        })
    emit({"status": "ok", **info, "results": results})


if __name__ == "__main__":
    main()
