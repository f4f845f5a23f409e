"""Ensemble trainer vs a loop over separate models, side by side in one run (the ratio is what counts:
these machines are shared and noisy).

K MNIST-1D MLPs (40-100-100-10), minibatch SGD with momentum, the same steps and evaluations in both arms.
Prints the wall time of each arm, the speed-up, and the largest parameter difference between the arms (they
train the same models, so it must be at float-rounding level).

    python benchmarks/ensemble_speed.py [--models 16] [--steps 500] [--repeats 2] [--compare-optimizers]

With ``--compare-optimizers`` a third arm trains the ensemble with the hand-written stacked update (the path kept
for a learning rate or an L2 coefficient per model) instead of ``torch.optim``, in the same interleaved loop.
"""

import argparse
import time

import torch

import dlgen_lib as dl
from dlgen_lib.train import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compare-optimizers", action="store_true")
    args = parser.parse_args()
    threads = dl.setup_torch()
    data = dl.mnist1d()
    factory = lambda: dl.MLP(40, [args.width, args.width], 10)  # noqa: E731
    cfg = dl.TrainConfig(steps=args.steps, lr=0.05, batch_size=100, momentum=0.9, eval_every=100)
    seeds = list(range(args.models))
    t_loop, t_ens, t_hand = [], [], []
    for _ in range(args.repeats):  # interleave the arms so that both see the same machine load
        if args.compare_optimizers:
            start = time.perf_counter()
            hand, _ = dl.train_ensemble(factory, seeds, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                                        show_progress=False, hand_written_optimizer=True)
            t_hand.append(time.perf_counter() - start)
        start = time.perf_counter()
        ens, _ = dl.train_ensemble(factory, seeds, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                                   show_progress=False)
        t_ens.append(time.perf_counter() - start)
        start = time.perf_counter()
        models = []
        for s in seeds:
            net = dl.build(factory, s)
            dl.train(net, data.x_train, data.y_train, cfg, data.x_test, data.y_test, seed=s, show_progress=False)
            models.append(net)
        t_loop.append(time.perf_counter() - start)
    diffs = sorted(max((ens.params[name][k] - p).abs().max().item() for name, p in net.state_dict().items())
                   for k, net in enumerate(models))
    test_ens = ens.evaluate(data.x_test, data.y_test)[1]
    test_loop = [evaluate(net, data.x_test, data.y_test)[1] for net in models]
    acc_diff = max(abs(a - b) for a, b in zip(test_ens.tolist(), test_loop))
    print(f"K = {args.models} MLPs 40-{args.width}-{args.width}-10, {args.steps} steps, batch 100, "
          f"{threads} threads, torch {torch.__version__}")
    print(f"loop over models : {min(t_loop):7.2f} s (best of {args.repeats})")
    print(f"ensemble trainer : {min(t_ens):7.2f} s (best of {args.repeats})")
    print(f"speed-up         : {min(t_loop) / min(t_ens):7.2f}x")
    if t_hand:
        gap = max((hand.params[n] - p).abs().max().item() for n, p in ens.params.items())
        print(f"ensemble, hand-written update: {min(t_hand):7.2f} s (best of {args.repeats}); torch.optim / "
              f"hand-written = {min(t_ens) / min(t_hand):.2f}; largest |param difference| between them {gap:.1e}")
    # Both arms do the same arithmetic up to summation order; over hundreds of non-convex steps a ReLU that
    # flips on a rounding difference can make a few models drift apart late (tests/test_train.py checks
    # equality over 50-100 steps). The test accuracies show whether the drift matters.
    print(f"|param difference| per model: median {diffs[len(diffs) // 2]:.1e}, max {diffs[-1]:.1e}; "
          f"largest test-accuracy difference {acc_diff:.3f}")


if __name__ == "__main__":
    main()
