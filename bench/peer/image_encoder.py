"""PyTorch peer of bench/image-encoder.ts: the same CNNs, shapes, loss and optimizer.

Workloads (--workload):
  plain2d    x [16, 1, 128, 128]; 4 conv 3x3 with bias + ReLU, channels 1->32->64->128->256,
             strides 1, 2, 2, 2; global average pool; Linear(256, 1)
  plain3d    x [4, 1, 32, 64, 64]; 4 conv 3x3x3 with bias + ReLU, channels 1->32->64->128->256,
             strides 2, 2, 2, 2; global average pool; Linear(256, 1)
  encoder2d  vdafm createImageEncoder({inputShape: [128, 128, 1], widths: [32, 64, 128, 256],
             depths: [1, 1, 1, 1], strides: [1, 2, 2, 2], stemStride: 2, norm: 'batch'}) + Linear(256, 1)
             on the pooled vector; x [16, 1, 128, 128]
  encoder3d  the same with spatialDims 3, inputShape [32, 64, 64, 1], widths [16, 32, 64, 128],
             norm 'group' (8 groups) + Linear(128, 1); x [4, 1, 32, 64, 64]
The residual encoder: stem conv k3 (stride 2, no bias) -> norm -> ReLU; per stage one basic block
conv k3 (stage stride) -> norm -> ReLU -> conv k3 -> norm, plus a 1x1 strided conv + norm shortcut
when the shape changes, then ReLU.
Loss = mean(head(x) ** 2); Adam(lr = 1e-3). Forward is timed under torch.no_grad() (tfjs records no
tape in predict); the train step is zero_grad + forward (training mode) + backward + Adam step.
float32, CPU, torch.set_num_threads(n) and the BLAS library's threads (common.set_threads). Padding: PyTorch's symmetric padding 1 gives the same
output sizes (and FLOPs) as TensorFlow's 'same' rule for these even sizes.

With --predict-reps k, also times k batch-1 inference calls (sigmoid of the head, no_grad, eval
mode): the per-patient latency ("predict") of bench/workloads/image-encoder.ts.

Run: /usr/bin/python3 bench/peer/image_encoder.py --workload plain2d --threads 1 --warmup 2 --reps 5
Prints one JSON object (protocol of bench/peer/common.py); with --serve, answers timing requests
on stdin instead (interleaved with vdafm's steps, see common.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import blas_library, emit, import_torch, max_rss_kb, serve, set_threads  # noqa: E402
import argparse  # noqa: E402
import time  # noqa: E402


def time_series(fn, warmup, reps, max_seconds):
    """Warm-up runs, then timed runs: returns (wall ms list, process CPU ms list)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    spent = 0.0
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        dt = time.perf_counter() - t0
        wall.append(dt * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
        spent += dt
        if spent > max_seconds and len(wall) >= 3:
            break
    return wall, cpu


def build(torch, workload):
    nn = torch.nn
    three = workload.endswith('3d')
    Conv = nn.Conv3d if three else nn.Conv2d

    if workload.startswith('plain'):
        strides = [2, 2, 2, 2] if three else [1, 2, 2, 2]
        chans = [1, 32, 64, 128, 256]
        layers = []
        for i in range(4):
            layers += [Conv(chans[i], chans[i + 1], 3, stride=strides[i], padding=1), nn.ReLU()]
        body = nn.Sequential(*layers)
        width = 256
    else:
        widths = [16, 32, 64, 128] if three else [32, 64, 128, 256]
        strides = [1, 2, 2, 2]

        def norm(c):
            return nn.GroupNorm(8, c) if three else nn.BatchNorm2d(c)

        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.c1 = Conv(cin, cout, 3, stride=stride, padding=1, bias=False)
                self.n1 = norm(cout)
                self.c2 = Conv(cout, cout, 3, padding=1, bias=False)
                self.n2 = norm(cout)
                self.short = None
                if stride != 1 or cin != cout:
                    self.short = nn.Sequential(Conv(cin, cout, 1, stride=stride, bias=False), norm(cout))

            def forward(self, x):
                h = self.n2(self.c2(torch.relu(self.n1(self.c1(x)))))
                return torch.relu(h + (self.short(x) if self.short is not None else x))

        layers = [Conv(1, widths[0], 3, stride=2, padding=1, bias=False), norm(widths[0]), nn.ReLU()]
        cin = widths[0]
        for w, s in zip(widths, strides):
            layers.append(Block(cin, w, s))
            cin = w
        body = nn.Sequential(*layers)
        width = widths[-1]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
            self.head = nn.Linear(width, 1)

        def forward(self, x):
            h = self.body(x)
            tokens = h.flatten(2).transpose(1, 2)  # [batch, tokens, dim], as the encoder returns
            return self.head(tokens.mean(1))

    return Net()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--workload', required=True, choices=['plain2d', 'plain3d', 'encoder2d', 'encoder3d'])
    p.add_argument('--threads', default='1')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--max-seconds', type=float, default=30.0)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--batch', type=int, default=0, help='batch size (default 16 for 2D, 4 for 3D)')
    p.add_argument('--predict-reps', type=int, default=0,
                   help='also time batch-1 inference (per-patient latency) this many times')
    p.add_argument('--serve', action='store_true', help='answer timing requests on stdin (common.py)')
    args = p.parse_args()
    torch = import_torch()
    torch.manual_seed(args.seed)
    shape = [4, 1, 32, 64, 64] if args.workload.endswith('3d') else [16, 1, 128, 128]
    if args.batch > 0:
        shape[0] = args.batch
    x = torch.randn(*shape)
    x1 = x[:1].clone()

    def make_runner(n):
        set_threads(torch, n)
        model = build(torch, args.workload)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def forward():
            model.eval()
            with torch.no_grad():
                y = model(x)
            return float(y[0, 0])

        def predict():
            model.eval()
            with torch.no_grad():
                y = torch.sigmoid(model(x1))
            return float(y[0, 0])

        def train():
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            return float(loss)

        return {'forward': forward, 'train': train, 'predict': predict}

    if args.serve:
        serve(torch, make_runner, {'torch': torch.__version__, 'blas': blas_library(), 'python': sys.version.split()[0]})
        return
    results = []
    for n in [int(t) for t in args.threads.split(',') if t]:
        r = make_runner(n)
        forward, train, predict = r['forward'], r['train'], r['predict']
        fwd, fwd_cpu = time_series(forward, args.warmup, args.reps, args.max_seconds)
        trn, trn_cpu = time_series(train, args.warmup, args.reps, args.max_seconds)
        extra = {}
        if args.predict_reps > 0:
            extra['predict'] = time_series(predict, args.warmup, args.predict_reps, args.max_seconds)[0]
        results.append({
            **extra,
            'threads': torch.get_num_threads(),
            'forward': fwd,
            'train': trn,
            'forward_cpu': fwd_cpu,
            'train_cpu': trn_cpu,
            'forward_warmup': args.warmup,
            'train_warmup': args.warmup,
            'max_rss_kb': max_rss_kb(),
            'loss': train(),
        })
    emit({'status': 'ok', 'torch': torch.__version__, 'blas': blas_library(), 'python': sys.version.split()[0],
          'workload': args.workload, 'results': results})


if __name__ == '__main__':
    main()
