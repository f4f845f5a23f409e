"""Exact Hessians of chapter 2's tanh network: a loop of P double-backward passes against ``torch.func.hessian``
vmapped over the K starts, side by side in one run (the ratio is what counts: these machines are shared and noisy).

    python benchmarks/hessian_speed.py [--starts 35] [--hidden 4] [--repeats 2]

Prints the time of each way, the speed-up, and the largest difference between the Hessians (rounding level).
"""

from __future__ import annotations

import argparse
import time

import torch

import dlgen_lib as dl
from dlgen_lib.chapters.ch02_loss_landscape.experiments import TanhNet


def loop_hessian(net: TanhNet, theta: torch.Tensor) -> torch.Tensor:
    """The way it was written before torch.func: P double-backward passes, each for all K starts at once."""
    theta = theta.detach().requires_grad_(True)
    g = torch.autograd.grad(net.loss(theta).sum(), theta, create_graph=True)[0]
    H = torch.stack([torch.autograd.grad(g[:, i].sum(), theta, retain_graph=True)[0] for i in range(net.P)], 1)
    return (H + H.transpose(1, 2)) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=35, help="K: the small scale has 5 seeds x 7 snapshots")
    parser.add_argument("--hidden", type=int, default=4)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    threads = dl.setup_torch()
    data = dl.mnist1d()
    x = data.x_train[: args.examples, ::4]  # the chapter's stride-4 inputs: D = 10
    net = TanhNet(x, data.y_train[: args.examples], args.hidden)
    theta = torch.stack([net.init(s) for s in range(args.starts)])
    t_loop, t_func = [], []
    for _ in range(args.repeats):  # interleaved, so that both see the same machine load
        start = time.perf_counter()
        H_loop = loop_hessian(net, theta)
        t_loop.append(time.perf_counter() - start)
        start = time.perf_counter()
        _, H_func = net.grad_hessian(theta)
        t_func.append(time.perf_counter() - start)
    print(f"K = {args.starts} starts, P = {net.P} parameters, n = {args.examples}, {threads} threads, "
          f"torch {torch.__version__}")
    print(f"loop of P double-backward passes : {min(t_loop):7.2f} s (best of {args.repeats})")
    print(f"torch.func.hessian, vmapped      : {min(t_func):7.2f} s (best of {args.repeats})")
    print(f"speed-up                         : {min(t_loop) / min(t_func):7.2f}x")
    print(f"largest |difference| of the Hessians: {(H_loop - H_func).abs().max().item():.1e}")


if __name__ == "__main__":
    main()
