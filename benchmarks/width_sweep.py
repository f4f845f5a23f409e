"""Model-wise sweep of chapter 7 (MNIST-1D MLP 40-h-h-10, 13 widths, 4 seeds with 15 % label noise + 2 seeds with
clean labels = 78 networks): a plain loop over the networks against ``sweeps.train_widths`` (width buckets of
masked ensembles, both label sets in the same buckets), side by side in one run.

    python benchmarks/width_sweep.py [--steps 300] [--buckets auto|one|per-width]

Prints the wall time of each arm, the time per training step, the speed-up over the loop and the largest
difference in final test accuracy between the arms. Both arms train identical networks
(tests/test_sweeps.py); the chapter's run is 3 000 steps, so its sweep takes about 10x the time printed here.
"""

import argparse
import time

import numpy as np
import torch

import dlgen_lib as dl
from dlgen_lib.chapters import ch07_double_descent as ch
from dlgen_lib.sweeps import plan_buckets, train_widths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--buckets", default="auto", choices=("auto", "one", "per-width"),
                        help="auto: plan_buckets; one: every width padded to the widest; per-width: no padding")
    args = parser.parse_args()
    threads = dl.setup_torch()
    cfg = dl.scaled(ch.DoubleDescentConfig, "small", deep=dict(steps=args.steps))
    deep, train = cfg.deep, cfg.train
    tc = train.train_config(deep.steps)
    data = dl.mnist1d()
    ys = torch.stack([dl.corrupt_labels(data.y_train, train.label_noise, seed=cfg.draws.seed).labels, data.y_train])
    seed_lists = [deep.seeds, deep.clean_seeds]
    n_nets = len(deep.widths) * sum(map(len, seed_lists))
    buckets = {"auto": None, "one": (deep.widths,), "per-width": tuple((w,) for w in deep.widths)}[args.buckets]

    start = time.perf_counter()
    loop_acc = []
    for w in deep.widths:
        for y, seeds in zip(ys, seed_lists):
            for s in seeds:
                hist = dl.train(dl.build(lambda w=w: deep.network(w), s), data.x_train, y, tc, data.x_test, data.y_test,
                                seed=s, show_progress=False)
                loop_acc.append(hist.test_acc[-1])
    t_loop = time.perf_counter() - start

    start = time.perf_counter()
    sweeps = train_widths(deep.network, deep.widths, seed_lists, data.x_train, ys, tc, data.x_test, data.y_test,
                          buckets=buckets, show_progress=False)
    t_sweep = time.perf_counter() - start
    sweep_acc = np.concatenate([np.concatenate([s.final("test_acc")[i] for s in sweeps])
                                for i in range(len(deep.widths))])

    print(f"{n_nets} MLPs 40-h-h-10, h in {deep.widths}, {args.steps} Adam steps (batch {train.batch_size}, "
          f"cosine), evaluated every {train.eval_every} steps, {threads} threads")
    print(f"loop over networks (dl.train)   : {t_loop:7.2f} s  ({t_loop / args.steps * 1e3:6.2f} ms per step)")
    print(f"train_widths, buckets {sweeps[0].buckets}")
    print(f"                                : {t_sweep:7.2f} s  ({t_sweep / args.steps * 1e3:6.2f} ms per step)"
          f"   speed-up {t_loop / t_sweep:5.2f}x")
    print(f"largest difference in final test accuracy between the arms: {np.abs(sweep_acc - loop_acc).max():.4f}")
    params = [dl.param_count(deep.network(w)) for w in deep.widths]
    plan = plan_buckets(deep.widths, lambda h: params[deep.widths.index(h)], len(seed_lists[0]) + len(seed_lists[1]))
    print(f"parameters per network: {params[0]} to {params[-1]}; default plan {plan}")


if __name__ == "__main__":
    main()
