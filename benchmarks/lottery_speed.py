"""One round of iterative magnitude pruning (chapter 6): the ticket and its two controls for every seed trained
together in one masked ensemble, against a loop that trains the same networks one at a time (the same code
path with K = 1), side by side in one run (the ratio is what counts: these machines are shared and noisy).

MNIST-1D MLP 40-100-100-10 at ~50 % of the weights, Adam, the small scale's steps and batch. Prints the wall time
of each arm, the speed-up and the largest difference of the final weights (the same networks, so float rounding).

    python benchmarks/lottery_speed.py [--seeds 3] [--steps 600] [--repeats 2]
"""

import argparse
import time

import torch

import dlgen_lib as dl
from dlgen_lib import pruning
from dlgen_lib.chapters import ch06_lottery_tickets as ch
from dlgen_lib.config import scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    threads = dl.setup_torch()
    cfg = scaled(ch.LotteryConfig, "small")
    data, factory = ch.mnist1d_split(), cfg.mnist.factory()
    tc = dl.TrainConfig(steps=args.steps, lr=cfg.mnist.lr, batch_size=cfg.mnist.batch_size, optimizer="adam",
                        eval_every=cfg.mnist.eval_every)
    seeds = list(range(args.seeds))
    init = dl.Ensemble.build(factory, seeds).params
    names = pruning.prunable(list(init))
    ones = {n: torch.ones_like(init[n]) for n in names}
    ticket = ones
    for _ in range(3):  # three rounds' worth of pruning on the initial weights: ~51 % left
        ticket = pruning.prune_smallest(init, ticket, pruning.layer_rates(factory, cfg.imp.rate,
                                                                         cfg.imp.output_rate))
    fresh = dl.Ensemble.build(factory, [s + pruning.FRESH_SEED for s in seeds]).params
    state = pruning.stack_states(init, fresh, init)  # ticket, reinit control, random-mask control
    masks = pruning.stack_states(ticket, ticket, pruning.random_masks(ticket, seed=0))
    K = 3 * len(seeds)
    all_seeds = seeds * 3

    def one(rows):
        ens = pruning.rewind(factory, [all_seeds[i] for i in rows], {n: s[rows] for n, s in state.items()},
                             {n: m[rows] for n, m in masks.items()})
        ens, _ = dl.train_ensemble(factory, [all_seeds[i] for i in rows], data.x, data.y, tc, data.x_val,
                                   data.y_val, masks={n: m[rows] for n, m in masks.items()}, ensemble=ens,
                                   show_progress=False, eval_train=False)
        return ens.params

    t_loop, t_ens = [], []
    for _ in range(args.repeats):  # interleave the arms so that both see the same machine load
        start = time.perf_counter()
        together = one(list(range(K)))
        t_ens.append(time.perf_counter() - start)
        start = time.perf_counter()
        alone = [one([k]) for k in range(K)]
        t_loop.append(time.perf_counter() - start)
    diff = max((together[n][k] - alone[k][n][0]).abs().max().item() for k in range(K) for n in together)
    print(f"{K} networks (ticket, reinit, random mask x {len(seeds)} seeds), {args.steps} Adam steps, "
          f"{threads} threads, torch {torch.__version__}")
    print(f"loop over networks : {min(t_loop):7.2f} s (best of {args.repeats})")
    print(f"one masked ensemble: {min(t_ens):7.2f} s (best of {args.repeats})")
    print(f"speed-up           : {min(t_loop) / min(t_ens):7.2f}x")
    print(f"largest |weight difference| between the arms: {diff:.1e}")


if __name__ == "__main__":
    main()
