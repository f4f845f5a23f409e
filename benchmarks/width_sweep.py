"""Model-wise sweep over hidden widths (MNIST-1D MLP 40-h-h-10, 15 % label noise): three ways to train the same
networks, side by side in one run -- a loop over separate models, one masked ensemble at the largest width
(``Ensemble.embed``), and masked ensembles per width bucket (each bucket padded to its own largest width).

    python benchmarks/width_sweep.py [--steps 300] [--seeds 3]

Prints the wall time of each arm and the speed-up over the loop. All arms train identical networks
(tests/test_train.py::test_embedded_widths_equal_narrow_networks).
"""

import argparse
import time

import numpy as np

import dlgen_lib as dl
from dlgen_lib.train import Ensemble

WIDTHS = (2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256)
BUCKETS = ((2, 4, 8, 12, 16), (24, 32, 48, 64), (96, 128), (256,))


def make(width):
    return lambda: dl.MLP(40, [width, width], 10)


def run_embedded(widths, seeds, x, y, cfg):
    models = [dl.build(make(w), s) for w in widths for s in seeds]
    ens, masks = Ensemble.embed(models, dl.build(make(max(widths)), 0))
    dl.train_ensemble(make(max(widths)), [s for _ in widths for s in seeds], x, y, cfg, ensemble=ens, masks=masks,
                      show_progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    threads = dl.setup_torch()
    data = dl.mnist1d()
    y = dl.corrupt_labels(data.y_train, 0.15, seed=0).labels
    cfg = dl.TrainConfig(steps=args.steps, lr=1e-3, batch_size=128, optimizer="adam", eval_every=args.steps)
    seeds = list(range(args.seeds))
    times = {}
    start = time.perf_counter()
    for w in WIDTHS:
        for s in seeds:
            dl.train(dl.build(make(w), s), data.x_train, y, cfg, seed=s, show_progress=False)
    times["loop over models"] = time.perf_counter() - start
    start = time.perf_counter()
    run_embedded(WIDTHS, seeds, data.x_train, y, cfg)
    times["one masked ensemble"] = time.perf_counter() - start
    start = time.perf_counter()
    for bucket in BUCKETS:
        run_embedded(bucket, seeds, data.x_train, y, cfg)
    times["masked ensembles per bucket"] = time.perf_counter() - start
    n_models = len(WIDTHS) * len(seeds)
    print(f"{n_models} MLPs 40-h-h-10, h in {WIDTHS}, {args.steps} Adam steps, batch 128, {threads} threads")
    for name, t in times.items():
        print(f"{name:28s}: {t:7.2f} s   speed-up {times['loop over models'] / t:5.2f}x")
    params = [dl.param_count(dl.build(make(w), 0)) for w in WIDTHS]
    print(f"parameters per model: {params[0]} to {params[-1]}; padding overhead of one ensemble: "
          f"{len(WIDTHS) * params[-1] / np.sum(params):.1f}x the useful arithmetic")


if __name__ == "__main__":
    main()
