"""Our Hessian tools (dlgen_lib.landscape) side by side with the PyPI package PyHessian (Yao et al. 2020).

Trains an MNIST-1D MLP 40-100-100-10 briefly (Adam), takes the first ``--n`` training examples as one fixed
batch and, on the same model and batch in float32 (mean cross-entropy, eval mode), computes
(1) the top-k Hessian eigenvalues by our Lanczos (``lanczos_top_eigs`` on an ``HVP``) and by PyHessian's power
iteration with deflation (``hessian(...).eigenvalues(top_n=k)``), at its default settings (maxIter=100 per
eigenvalue, tol=1e-3 on the relative change of the Rayleigh quotient) and at tight ones. P = 15 210 parameters
is too many for a dense Hessian, so the reference is our Lanczos run in float64 with many iterations (its Ritz
residuals are printed to show that it converged);
(2) the Hessian trace by Hutchinson's estimator with the same number of Rademacher probes in both (PyHessian's
``trace`` stops early when its running mean moves by less than tol, so tol=-inf disables that), as mean ± standard
error, and their difference in units of the combined standard error.
Prints wall times (best of ``--repeats``; one untimed warm-up HVP each; PyHessian's timings include building
its ``hessian`` object, one forward and backward pass) and the ratio PyHessian / ours (> 1: ours is faster);
these machines are shared and noisy, the ratio is what counts. Ours is timed twice: with the gradient graph built
once per call and reused by every product (``HVP``'s default, ``keep_graph=True``; the build is inside the timing,
as PyHessian's is), and with the graph recomputed for each product (``keep_graph=False``, forward-over-reverse).

    pip install --no-deps pyhessian   # the peer; --no-deps leaves the installed torch alone
    python benchmarks/hessian_peer.py [--steps 300] [--n 1000] [--k 5] [--iters 30] [--probes 100]
"""

import argparse
import copy
import importlib
import importlib.metadata
import math
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import dlgen_lib as dl
from dlgen_lib.landscape import HVP, hutchinson_trace, lanczos_top_eigs
from dlgen_lib.train import evaluate

try:
    from pyhessian import hessian as PyHessian
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"this benchmark needs the peer package PyHessian ({exc}); install it with\n"
             f"    pip install --no-deps pyhessian\n(--no-deps so that it does not touch the installed torch)")


class Counted:
    """An HVP v -> Hv that counts its calls (our routines only call it; ``device`` as an HVP has)."""

    def __init__(self, fn):
        self.fn, self.calls, self.device = fn, 0, getattr(fn, "device", None)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fn(v)


class PeerCounter:
    """Counts PyHessian's HVPs by wrapping ``pyhessian.hessian.hessian_vector_product`` (the name the ``hessian``
    class calls; ``pyhessian.hessian`` itself is the class, which shadows the submodule, hence import_module)."""

    def __init__(self):
        self.module = importlib.import_module("pyhessian.hessian")
        self.original, self.calls = self.module.hessian_vector_product, 0

        def counted(*args, **kwargs):
            self.calls += 1
            return self.original(*args, **kwargs)

        self.module.hessian_vector_product = counted


def peer(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> PyHessian:
    """A fresh PyHessian object. Its constructor runs loss.backward(create_graph=True), which accumulates into
    .grad: clear the grads first (stale gradients from training would be added, though as constants)."""
    model.zero_grad(set_to_none=True)
    warnings.filterwarnings("ignore", "Using backward\\(\\) with create_graph=True")  # we clear .grad after use
    return PyHessian(model, F.cross_entropy, data=(x, y), cuda=False)


def best_of(repeats: int, fn):
    """(result of the last call, smallest wall time over ``repeats`` calls)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="Adam steps of training (batch 100, lr 1e-3)")
    parser.add_argument("--n", type=int, default=1000, help="examples in the fixed batch")
    parser.add_argument("--k", type=int, default=5, help="number of top eigenvalues")
    parser.add_argument("--iters", type=int, default=30, help="our Lanczos iterations")
    parser.add_argument("--ref-iters", type=int, default=200, help="Lanczos iterations of the float64 reference")
    parser.add_argument("--tight-tol", type=float, default=1e-6, help="PyHessian's tol for the tight run")
    parser.add_argument("--tight-max-iter", type=int, default=1000, help="PyHessian's maxIter for the tight run")
    parser.add_argument("--probes", type=int, default=100, help="Rademacher probes of both trace estimates")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per method (best is printed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    threads = dl.setup_torch()
    data = dl.mnist1d()
    model = dl.build(lambda: dl.MLP(40, [100, 100], 10), args.seed)
    cfg = dl.TrainConfig(steps=args.steps, lr=1e-3, batch_size=100, optimizer="adam", eval_every=args.steps)
    start = time.perf_counter()
    dl.train(model, data.x_train, data.y_train, cfg, seed=args.seed, show_progress=False)
    t_train = time.perf_counter() - start
    model.eval()
    x, y = data.x_train[: args.n], data.y_train[: args.n]
    batch_loss, batch_acc = evaluate(model, x, y)
    print(f"MNIST-1D MLP 40-100-100-10, {args.steps} Adam steps ({t_train:.1f} s): test accuracy "
          f"{evaluate(model, data.x_test, data.y_test)[1]:.3f}; Hessian of the mean cross-entropy on the first "
          f"{len(y)} training examples (loss {batch_loss:.3f}, accuracy {batch_acc:.3f})")
    print(f"torch {torch.__version__}, {threads} threads, PyHessian {importlib.metadata.version('pyhessian')}")

    # ---------------------------------------------------------------- reference: float64 Lanczos, many iterations
    model64 = copy.deepcopy(model).double()
    op64 = HVP(model64, F.cross_entropy, x.double(), y)
    P, k = op64.P, args.k
    start = time.perf_counter()
    ref, vecs = lanczos_top_eigs(op64, P, k=k, iters=args.ref_iters, seed=args.seed + 1, return_vectors=True)
    t_ref = time.perf_counter() - start
    resid = max(float((op64(v) - lam * v).norm() / abs(lam)) for lam, v in zip(ref.tolist(), vecs))
    ref = ref.numpy()
    print(f"P = {P} parameters. Reference: our Lanczos in float64 (HVPs and Krylov vectors), {args.ref_iters} "
          f"iterations, another start, {t_ref:.1f} s; max relative Ritz residual ||Hv - λv|| / |λ| = {resid:.1e}")

    # ---------------------------------------------------------------- (1) top-k eigenvalues
    # float32 HVPs; Krylov vectors in float64 (the default). A fresh HVP per timed call, so that our timings, like
    # PyHessian's, include building the gradient graph that the products reuse (keep_graph=True, the default).
    HVP(model, F.cross_entropy, x, y)(torch.randn(P))  # warm-up
    counter, rows = PeerCounter(), []
    h = peer(model, x, y)
    counter.original(h.gradsH, h.params, [torch.randn_like(p) for p in h.params])  # warm-up

    def ours(keep_graph: bool = True):
        op = Counted(HVP(model, F.cross_entropy, x, y, keep_graph=keep_graph))
        return lanczos_top_eigs(op, P, k=k, iters=args.iters, seed=args.seed).numpy(), op.calls

    (eigs, calls), sec = best_of(args.repeats, ours)
    rows.append((f"ours: Lanczos, iters={args.iters}", eigs, calls, sec))
    (eigs, calls), sec = best_of(args.repeats, lambda: ours(keep_graph=False))
    rows.append((f"ours, graph recomputed per HVP, iters={args.iters}", eigs, calls, sec))
    for label, max_iter, tol in [("PyHessian defaults", 100, 1e-3),
                                 ("PyHessian tight", args.tight_max_iter, args.tight_tol)]:
        def theirs(max_iter=max_iter, tol=tol):
            torch.manual_seed(args.seed)  # PyHessian draws its start vectors from the global generator
            counter.calls = 0
            values, _ = peer(model, x, y).eigenvalues(maxIter=max_iter, tol=tol, top_n=k)
            return np.array(values), counter.calls

        (values, calls), sec = best_of(args.repeats, theirs)
        order = "" if np.all(np.diff(values) <= 0) else " (found out of order; sorted)"
        rows.append((f"{label}: power, maxIter={max_iter}, tol={tol:g}{order}", -np.sort(-values), calls, sec))

    t_ours = rows[0][3]
    print(f"\n(1) top-{k} eigenvalues (float32 model and batch); rel. diff = max_i |λ_i - λ_i(ref)| / |λ_i(ref)|")
    print(f"{'method':<48} {'HVPs':>5} {'seconds':>8} {'ms/HVP':>7} {'time/ours':>9} {'rel. diff':>9} "
          f"{'vs ours':>8}")
    print(f"{'reference: float64 Lanczos, iters=' + str(args.ref_iters):<48} {args.ref_iters:>5} {t_ref:>8.3f} "
          f"{1e3 * t_ref / args.ref_iters:>7.2f} {'':>9} {'':>9} {'':>8}")
    for label, values, calls, sec in rows:
        rel = np.abs(values - ref) / np.abs(ref)
        vs_ours = np.abs(values - rows[0][1]) / np.abs(rows[0][1])
        print(f"{label:<48} {calls:>5} {sec:>8.3f} {1e3 * sec / calls:>7.2f} {sec / t_ours:>9.2f} "
              f"{rel.max():>9.1e} {vs_ours.max():>8.1e}")
    print("eigenvalues, largest first:")
    print(f"  {'reference':<28}" + " ".join(f"{v:10.5f}" for v in ref))
    for label, values, _, _ in rows:
        print(f"  {label.split(',')[0]:<28}" + " ".join(f"{v:10.5f}" for v in values))
    worst = max(np.max(np.abs(r[1] - rows[0][1]) / np.abs(rows[0][1])) for r in rows[2:])
    print(f"largest relative difference ours vs PyHessian: {worst:.2%} ({'within' if worst <= 0.01 else 'OVER'} 1 %)")

    # ---------------------------------------------------------------- (2) trace
    def ours_trace(keep_graph: bool = True):
        op = Counted(HVP(model, F.cross_entropy, x, y, keep_graph=keep_graph))
        return hutchinson_trace(op, P, samples=args.probes, seed=args.seed), op.calls

    def theirs_trace(max_iter: int, tol: float, seed: int):
        torch.manual_seed(seed)  # PyHessian draws its probes from the global generator
        counter.calls = 0
        vhv = np.array(peer(model, x, y).trace(maxIter=max_iter, tol=tol))
        return (float(vhv.mean()), float(vhv.std(ddof=1) / math.sqrt(len(vhv)))), counter.calls

    # With the same seed both draw the same ±1 probes (the global generator's randint_like per parameter tensor
    # gives the same bits as our one randint over P), so they must agree to rounding; another seed gives an
    # independent estimate, which must agree within sampling error.
    other = args.seed + 1
    trace_rows = [("ours: hutchinson_trace", *best_of(args.repeats, ours_trace)),
                  ("ours, graph recomputed per HVP", *best_of(args.repeats, lambda: ours_trace(keep_graph=False))),
                  (f"PyHessian, same seed, maxIter={args.probes}, tol=-inf",
                   *best_of(args.repeats, lambda: theirs_trace(args.probes, -math.inf, args.seed))),
                  (f"PyHessian, other seed, maxIter={args.probes}, tol=-inf",
                   *best_of(args.repeats, lambda: theirs_trace(args.probes, -math.inf, other))),
                  ("PyHessian, other seed, defaults (100, 1e-3)",
                   *best_of(args.repeats, lambda: theirs_trace(100, 1e-3, other)))]
    print("\n(2) Hessian trace, Hutchinson with Rademacher probes; z = (mean - ours) / sqrt(se² + se_ours²); "
          "PyHessian's tol=-inf turns off its early stop")
    print(f"{'method':<48} {'probes':>6} {'mean ± se':>20} {'seconds':>8} {'time/ours':>9} {'z':>6}")
    (m0, s0), _ = trace_rows[0][1]
    t0 = trace_rows[0][2]
    for label, ((mean, se), calls), sec in trace_rows:
        z = "" if label.startswith("ours") else f"{(mean - m0) / math.hypot(se, s0):6.2f}"
        print(f"{label:<48} {calls:>6} {f'{mean:.2f} ± {se:.2f}':>20} {sec:>8.3f} {sec / t0:>9.2f} {z:>6}")
    same = trace_rows[2][1][0][0]
    print(f"same probes: relative difference of the means {abs(same - m0) / abs(m0):.1e} (float32 rounding)")
    model.zero_grad(set_to_none=True)  # break PyHessian's create_graph reference cycle


if __name__ == "__main__":
    main()
