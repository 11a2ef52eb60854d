"""PyTorch peer of the full tri-modal model of bench/workloads/tri-modal.ts (`createTriModalModel`
with the configuration of the demo's "tri-modal VDAFM (full)" model, src/demo/demo.ts).

Architecture, built the way createTriModalModel builds it (dim d = 32 everywhere):
  image     2D residual CNN (createImageEncoder): input [B, 8, 32, 32] (tfjs [B, 32, 32, 8]);
            stem conv 3x3 stride 1 (no bias) -> BatchNorm -> ReLU; three stages widths
            [16, 32, 32], one basic block each, strides [2, 2, 2]: conv3x3(stride) -> BN -> ReLU ->
            conv3x3 -> BN, + shortcut conv1x1(stride) -> BN, -> ReLU; tokens = 4x4 grid = 16 tokens,
            Linear(32, d) projection (outputDim) -> visual tokens [B, 16, d].
  text      createTextEncoder(vocabSize 300, maxLength 64, dim d, 1 block, 4 heads, ffn 4d,
            dropout 0.1): token embedding + learned positions -> pre-norm transformer block
            (LN -> masked MHA -> dropout -> residual; LN -> W2 GELU(W1 x) -> dropout -> residual)
            -> final LayerNorm -> text tokens [B, 64, d] with the text mask.
  clinical  FT-Transformer (createTabularEncoder, 12 features = 11 scalar + 1 categorical of
            cardinality 3, dim d, 1 block, 4 heads, ffn 2d, dropout 0.1): scalar tokens x_j w_j + b_j,
            category embedding, learnable missing embedding where the mask is 0, CLS token
            prepended -> transformer block without key mask -> final LayerNorm -> CLS (pooled),
            feature tokens [B, 12, d]; attention importance = mean over heads of CLS -> feature.
  fusion    VDAFM (bench/peer/vdafm.py) with visual/text/clinical widths d, dim d, 4 heads, 1 layer,
            ffn 2d, dropout 0.1, FiLM conditioning, gated fusion, clinical 'late' (head input 2d).
  heads     prognosis Linear(2d, 1); auxiliary heads Linear(d, 1) on the visual, text and clinical
            embeddings of VDAFM.
Loss (Trainer.computeLoss with the defaults): BCE(logits) + dual alignment (global 0.1, fine 0.1,
clinical 0.1, temperature 0.07, vision anchor) + 0.3 * sum of the auxiliary BCEs; Adam(lr 2e-3).
Batch 32; float32; CPU; torch.set_num_threads(n) and the BLAS library's threads (common.set_threads).

Phases: forward = the whole model on the batch in eval mode under torch.no_grad(); train =
zero_grad + forward (training mode: dropout on) + loss + backward + Adam step; predict = one
patient (batch 1), eval mode, no_grad, sigmoid of the prognosis logit (per-patient latency).

Run: /usr/bin/python3 bench/peer/trimodal.py --threads 1,2 --warmup 3 --reps 15 --predict-reps 30
     [--batch 32] [--quick]
Prints one JSON object (protocol of bench/peer/common.py) with an extra "predict" series per result.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import blas_library, emit, import_torch, max_rss_kb, serve, set_threads, time_series  # noqa: E402

D = 32
HEADS = 4
IMAGE = (8, 32, 32)  # channels, height, width (tfjs: [32, 32, 8])
WIDTHS = (16, 32, 32)
STRIDES = (2, 2, 2)
VOCAB = 300
MAXLEN = 64
NUM_SCALAR = 11
CARDINALITY = 3
NUM_FEATURES = NUM_SCALAR + 1
LR = 2e-3
ALIGN = {"global": 0.1, "fine": 0.1, "clinical": 0.1, "temperature": 0.07}
AUX_WEIGHT = 0.3


def build(torch):
    """Returns the TriModal module (needs torch and bench/peer/vdafm.py)."""
    nn = torch.nn
    from vdafm import Attention, FeedForward, VDAFM, gelu  # noqa: F401,PLC0415

    def gn(c):
        # the image encoder of the study and the demo (imageEncoderConfig): BatchNorm, eps 1e-5, momentum 0.9 (torch: 0.1)
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.n1 = gn(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.n2 = gn(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), gn(cout))

        def forward(self, x):
            h = self.n2(self.c2(torch.relu(self.n1(self.c1(x)))))
            return torch.relu(h + (self.short(x) if self.short is not None else x))

    class ImageEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Conv2d(IMAGE[0], WIDTHS[0], 3, stride=1, padding=1, bias=False), gn(WIDTHS[0]), nn.ReLU()]
            cin = WIDTHS[0]
            for w, s in zip(WIDTHS, STRIDES):
                layers.append(Block(cin, w, s))
                cin = w
            self.body = nn.Sequential(*layers)
            self.proj = nn.Linear(cin, D)

        def forward(self, x):
            h = self.body(x)
            return self.proj(h.flatten(2).transpose(1, 2))  # [B, tokens, D]

    class TransformerBlock(nn.Module):
        """Pre-norm: x + drop(MHA(LN(x))) then x + drop(W2 GELU(W1 LN(x)))."""

        def __init__(self, ffn):
            super().__init__()
            self.norm = nn.LayerNorm(D, eps=1e-5)
            self.attn = Attention(D, HEADS, 0.1)
            self.drop = nn.Dropout(0.1)
            self.ffn = FeedForward(D, ffn, 1e-5, 0.1)

        def forward(self, x, mask):
            h = self.norm(x)
            out, weights = self.attn(h, h, mask)
            return self.ffn(x + self.drop(out)), weights

    class TextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, D)
            self.positions = nn.Parameter(torch.randn(MAXLEN, D) * 0.02)
            self.block = TransformerBlock(4 * D)
            self.final_norm = nn.LayerNorm(D, eps=1e-5)

        def forward(self, ids, mask):
            x = self.embedding(ids) + self.positions[: ids.shape[1]].unsqueeze(0)
            x, _ = self.block(x, mask)
            return self.final_norm(x)

    class ClinicalEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.scalar_kernel = nn.Parameter(torch.randn(NUM_SCALAR, D) * 0.1)
            self.scalar_bias = nn.Parameter(torch.zeros(NUM_SCALAR, D))
            self.category = nn.Embedding(CARDINALITY, D)
            self.missing = nn.Parameter(torch.randn(NUM_FEATURES, D) * 0.02)
            self.cls = nn.Parameter(torch.randn(1, 1, D) * 0.02)
            self.block = TransformerBlock(2 * D)
            self.final_norm = nn.LayerNorm(D, eps=1e-5)

        def forward(self, values, mask):
            b = values.shape[0]
            scalar = values[:, :NUM_SCALAR].unsqueeze(-1) * self.scalar_kernel + self.scalar_bias
            cat = self.category(values[:, NUM_SCALAR:].long().clamp(0, CARDINALITY - 1))
            tokens = torch.cat([scalar, cat], dim=1)
            m = mask.unsqueeze(-1)
            tokens = tokens * m + (1.0 - m) * self.missing
            x = torch.cat([self.cls.expand(b, 1, D), tokens], dim=1)
            x, weights = self.block(x, None)
            x = self.final_norm(x)
            importance = weights[:, :, 0, 1:].mean(dim=1)
            return x[:, 1:], importance

    class TriModal(nn.Module):
        def __init__(self):
            super().__init__()
            self.image = ImageEncoder()
            self.text = TextEncoder()
            self.clinical = ClinicalEncoder()
            self.vdafm = VDAFM(D, D, D, dim=D, numHeads=HEADS, numLayers=1, dropout=0.1, conditioning="film",
                               fusion="gated", clinical="late")
            self.head = nn.Linear(2 * D, 1)
            self.aux = nn.ModuleDict({m: nn.Linear(D, 1) for m in ("image", "text", "clinical")})

        def forward(self, image, ids, text_mask, values, clinical_mask):
            v = self.image(image)
            t = self.text(ids, text_mask)
            c, importance = self.clinical(values, clinical_mask)
            out = self.vdafm(v, t, text_mask, c, clinical_mask)
            out["logits"] = self.head(out["headInput"])
            out["aux"] = {
                "image": self.aux["image"](out["visualEmbedding"]),
                "text": self.aux["text"](out["textEmbedding"]),
                "clinical": self.aux["clinical"](out["clinicalEmbedding"]),
            }
            out["clinicalImportance"] = importance
            return out

    return TriModal()


def make_batch(torch, b, seed):
    """Image, token ids, text mask (lengths 64 down to 8; every 20th report missing), clinical
    values (11 scalars + a category index) and mask (~90 % present), labels (every 3rd positive)."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(b, *IMAGE, generator=g)
    ids = torch.randint(0, VOCAB, (b, MAXLEN), generator=g)
    text_mask = torch.zeros(b, MAXLEN)
    for i in range(b):
        n = 0 if i % 20 == 19 else MAXLEN - (7 * i) % 57
        text_mask[i, :n] = 1
    values = torch.cat([torch.randn(b, NUM_SCALAR, generator=g),
                        torch.randint(0, CARDINALITY, (b, 1), generator=g).float()], dim=1)
    clinical_mask = (torch.rand(b, NUM_FEATURES, generator=g) < 0.9).float()
    labels = (torch.arange(b) % 3 == 0).float().unsqueeze(-1)
    return (image, ids, text_mask, values, clinical_mask), labels


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (torch.set_num_threads)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--predict-reps", type=int, default=30)
    p.add_argument("--max-seconds", type=float, default=20.0, help="soft budget per timed series")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--serve", action="store_true", help="answer timing requests on stdin (common.py)")
    args = p.parse_args()
    torch = import_torch()
    from vdafm import dual_alignment_loss  # noqa: PLC0415 (needs torch)

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    inputs, labels = make_batch(torch, args.batch, args.seed)
    inputs1 = tuple(t[:1].clone() for t in inputs)

    def make_runner(n):
        set_threads(torch, n)
        torch.manual_seed(args.seed)
        model = build(torch)
        opt = torch.optim.Adam(model.parameters(), lr=LR)

        def forward():
            model.eval()
            with torch.no_grad():
                out = model(*inputs)
            return float(out["logits"][0, 0])

        def predict():
            model.eval()
            with torch.no_grad():
                prob = torch.sigmoid(model(*inputs1)["logits"])
            return float(prob[0, 0])

        def train():
            model.train()
            opt.zero_grad(set_to_none=True)
            out = model(*inputs)
            loss = bce(out["logits"], labels)
            align = dual_alignment_loss(out, inputs[2], inputs[4], temperature=ALIGN["temperature"],
                                        global_weight=ALIGN["global"], fine_weight=ALIGN["fine"],
                                        clinical_weight=ALIGN["clinical"])
            loss = loss + align["loss"] + AUX_WEIGHT * sum(bce(a, labels) for a in out["aux"].values())
            loss.backward()
            opt.step()
            return float(loss)

        return {"forward": forward, "train": train, "predict": predict,
                "params": sum(p.numel() for p in model.parameters())}

    if args.serve:
        serve(torch, make_runner, {"torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0]})
        return
    results = []
    for n in [int(t) for t in args.threads.split(",") if t]:
        r = make_runner(n)
        forward, train, predict = r["forward"], r["train"], r["predict"]
        fwd = time_series(forward, args.warmup, args.reps, args.max_seconds)
        trn = time_series(train, args.warmup, args.reps, args.max_seconds)
        prd = time_series(predict, args.warmup, args.predict_reps, args.max_seconds)
        results.append({
            "threads": torch.get_num_threads(),
            "forward": fwd,
            "train": trn,
            "predict": prd,
            "forward_warmup": args.warmup,
            "train_warmup": args.warmup,
            "max_rss_kb": max_rss_kb(),
            "params": r["params"],
            "loss": train(),
        })
    emit({"status": "ok", "torch": torch.__version__, "blas": blas_library(), "python": sys.version.split()[0],
          "results": results})


if __name__ == "__main__":
    main()
