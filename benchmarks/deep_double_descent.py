"""Chapter 7's model-wise deep double descent at a chosen scale (default: the full one, which is 19 widths of the
MNIST-1D MLP 40-h-h-10 from 2 to 512, 8 seeds with 15 % label noise + 3 with clean labels, 10 000 Adam steps),
timed and tabulated against the MNIST-1D notebook's numbers.

    python benchmarks/deep_double_descent.py [--scale full|small|tiny]

Prints the wall time, the width buckets, and per width the final training error, the final test error (mean +-
std over seeds) and the oracle early-stopped test error, for both label sets; then the first minimum, the
peak, the widest network and the threshold bump (:func:`dlgen_lib.chapters.ch07_double_descent.threshold_bump`).
Measured on 2 CPU cores: 700 s at the full scale (the Fashion-MNIST CNN sweep of the full scale is not part
of it: it needs a GPU).
"""

import argparse
import os
import time

os.environ.setdefault("DLGEN_PROGRESS", "off")

import dlgen_lib as dl  # noqa: E402
from dlgen_lib.chapters import ch07_double_descent as ch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="full", choices=dl.SCALES)
    args = parser.parse_args()
    threads = dl.setup_torch()
    cfg = dl.scaled(ch.DoubleDescentConfig, args.scale)
    start = time.perf_counter()
    sweeps = ch.deep_double_descent.uncached(cfg.deep, cfg.train, cfg.draws)  # always trains: this is a measurement
    seconds = time.perf_counter() - start
    noisy = sweeps[cfg.train.label_noise]
    deep = cfg.deep
    print(f"scale {args.scale}: {len(deep.widths)} widths {deep.widths[0]}-{deep.widths[-1]}, {deep.steps} steps, "
          f"{threads} threads on {dl.get_device()}: {seconds:.0f} s; buckets {noisy.buckets}")
    for noise, s in sweeps.items():
        final, train = s.final("test_error"), s.final("train_error").mean(1)
        early = ch.early_stopped_error(s)
        print(f"\nlabel noise {noise:.0%}, {len(s.seeds)} seeds")
        print(" width  params  train error  test error (final)  test error (early-stopped)")
        for w, p, a, m, sd, e in zip(s.widths, s.n_params, train, final.mean(1), final.std(1), early):
            print(f"{w:6d} {p:7d}     {a:6.1%}      {m:6.1%} +- {sd:4.1%}        {e:6.1%}")
        mean = final.mean(1)
        try:
            bump, h_star = ch.threshold_bump(s)
            i_min, i_peak, _ = ch.first_minimum_and_peak(s)
        except ValueError as err:  # too short or too narrow a run to interpolate
            print(f"no threshold: {err}")
            continue
        print(f"first minimum {mean[i_min]:.1%} at h = {s.widths[i_min]}; peak {mean[i_peak]:.1%} at "
              f"h = {s.widths[i_peak]}; widest {mean[-1]:.1%} at h = {s.widths[-1]}; "
              f"threshold h* = {h_star} (first width with training error <= 1 %); bump {bump:+.1%}")
    paper = ch.MNIST1D_PAPER
    print(f"\nMNIST-1D notebook (15 % noise): first minimum {paper['first minimum'][1]:.0%} at h ≈ "
          f"{paper['first minimum'][0]}, peak {paper['peak'][1]:.0%} at h ≈ 47-61, "
          f"{paper['widest (h = 300)'][1]:.1%} at h = 300; 12.7 min of CPU for its sweep")


if __name__ == "__main__":
    main()
