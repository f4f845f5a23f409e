"""The loss landscape: Hessian-vector products and spectra, filter-normalized slices, paths between networks.

* θ (P,), the trainable parameters as one vector: :func:`flat_params`, :func:`unflatten_params`,
  :func:`set_flat_params`.
* Curvature of L(θ): :class:`HVP` (v ↦ ∇²L(θ) v with ``torch.func``), :func:`exact_hessian` (small nets),
  :func:`power_iteration`, :func:`lanczos_top_eigs`, :func:`top_eigenvalue`, :func:`hutchinson_trace`,
  :func:`spectral_density` -- the toolkit of PyHessian (Yao et al. 2020) -- :func:`hessian_index` (Dauphin et
  al. 2014), and :func:`rescale_layers` (Dinh et al. 2017: the same function, another curvature).
* Pictures and paths: :func:`random_direction` (filter normalization, Li et al. 2018), :func:`slice_1d`,
  :func:`slice_2d`, :func:`interpolate` (Goodfellow et al. 2015), :func:`bezier_point` (Garipov et al. 2018),
  :func:`batched_loss` (many parameter sets evaluated at once, as an ensemble, with ``vmap``).

``loss_fn(logits, y)`` is a mean over examples (e.g. ``F.cross_entropy``), evaluated in eval mode (no dropout).
The matrix-free routines take any ``hvp_fn`` (P,) -> (P,) (an :class:`HVP`, or ``lambda v: H @ v``), draw their
probes on the CPU from ``seed`` and keep their Krylov vectors in float64 unless told otherwise.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from .config import generator

Params = dict[str, torch.Tensor]  # parameter name -> tensor, as model.named_parameters()
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, y) -> scalar mean loss
HVPFn = Callable[[torch.Tensor], torch.Tensor]  # v (P,) -> H v (P,)
Device = torch.device | str | None


# ------------------------------------------------------------------------------------ parameters


def _split(model: nn.Module) -> tuple[Params, Params]:
    """(trainable parameters, everything else functional_call needs: frozen parameters and buffers)."""
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    rest = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    return params, {**rest, **{n: b.detach() for n, b in model.named_buffers()}}


def _as_params(source: nn.Module | Params) -> Params:
    return _split(source)[0] if isinstance(source, nn.Module) else {n: p.detach() for n, p in source.items()}


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def flat_params(source: nn.Module | Params) -> torch.Tensor:
    """θ (P,): the trainable parameters of a model (or of a name -> tensor dict) concatenated, detached.

    >>> flat_params({"w": torch.ones(2, 2), "b": torch.zeros(2)}).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    return torch.cat([p.detach().reshape(-1) for p in _as_params(source).values()])


def unflatten_params(flat: torch.Tensor, like: nn.Module | Params) -> Params:
    """The inverse of :func:`flat_params`: flat (..., P) -> name -> (..., *shape), views of ``flat``.

    >>> unflatten_params(torch.arange(6.0), {"w": torch.ones(2, 2), "b": torch.zeros(2)})["b"].tolist()
    [4.0, 5.0]
    """
    like = _as_params(like)
    sizes = [p.numel() for p in like.values()]
    if flat.shape[-1] != sum(sizes):
        raise ValueError(f"flat vector of length {flat.shape[-1]}, but the parameters have P = {sum(sizes)}")
    lead = flat.shape[:-1]
    return {n: c.reshape(*lead, *p.shape) for (n, p), c in zip(like.items(), torch.split(flat, sizes, dim=-1))}


@torch.no_grad()
def set_flat_params(model: nn.Module, flat: torch.Tensor) -> None:
    """Copy θ (P,) into the model's trainable parameters, in place."""
    for p, value in zip((p for p in model.parameters() if p.requires_grad), unflatten_params(flat, model).values()):
        p.copy_(value)


# ------------------------------------------------------------------------------------ Hessian-vector products


class HVP:
    """v ↦ H v, H = ∇²L(θ) (P, P) the Hessian of L(θ) = loss_fn(model(x; θ), y) at the model's parameters as they
    are when the HVP is built (or at ``params``), computed as the forward derivative of the gradient,
    jvp(grad L, θ, v) (Pearlmutter 1994), without forming H. ``batch_size`` sums the HVPs of batches of the data,
    weighted by batch size (exact for a mean loss), to bound memory. v of any float dtype; H v is computed in θ's
    dtype and returned in v's.

    With ``keep_graph`` (the default) and the data in one batch, the first call computes ∇L(θ) once with its
    graph kept (``create_graph``), and every product is then one backward pass through that graph,
    H v = ∂(∇L · v)/∂θ (double backward), instead of a fresh forward and backward pass per product: about twice
    as fast, at the memory cost of keeping the graph (the activations of x) while the HVP lives.
    :meth:`functional` is the graph-free product, which ``torch.func.vmap`` can batch (:func:`exact_hessian`).

    >>> from dlgen_lib import MLP, build
    >>> net = build(lambda: MLP(3, [4], 2), seed=0)
    >>> hvp_fn = HVP(net, torch.nn.functional.cross_entropy, torch.randn(10, 3), torch.arange(10) % 2)
    >>> hvp_fn.P, hvp_fn(torch.ones(26)).shape
    (26, torch.Size([26]))
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor,
                 params: nn.Module | Params | None = None, batch_size: int | None = None, keep_graph: bool = True):
        self.model, self.loss_fn, self.x, self.y = model, loss_fn, x, y
        own, self._rest = _split(model)
        self._like = own if params is None else _as_params(params)
        self.theta = flat_params(self._like)  # (P,)
        self.P, self.device, self.dtype = self.theta.numel(), self.theta.device, self.theta.dtype
        self.batch_size = len(x) if batch_size is None else batch_size
        self.keep_graph = keep_graph and self.batch_size >= len(x)
        self._graph: tuple[torch.Tensor, torch.Tensor] | None = None  # (θ as a leaf, ∇L(θ) with its graph)

    def _loss_at(self, theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        params = unflatten_params(theta, self._like)
        return self.loss_fn(functional_call(self.model, {**params, **self._rest}, (xb,)), yb)

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, float]]:
        n = len(self.x)
        for i in range(0, n, self.batch_size):
            xb = self.x[i: i + self.batch_size]
            yield xb, (None if self.y is None else self.y[i: i + self.batch_size]), len(xb) / n

    def loss(self, theta: torch.Tensor | None = None) -> torch.Tensor:
        """L(θ), a scalar differentiable in θ (P,) (default: the parameters the Hessian is taken at)."""
        theta = self.theta if theta is None else theta
        with _eval_mode(self.model):
            return sum(w * self._loss_at(theta, xb, yb) for xb, yb, w in self._batches())

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if not self.keep_graph:
            return self.functional(v)
        if self._graph is None:
            leaf = self.theta.detach().clone().requires_grad_(True)
            with torch.enable_grad(), _eval_mode(self.model):
                g = torch.autograd.grad(self._loss_at(leaf, self.x, self.y), leaf, create_graph=True)[0]
            self._graph = (leaf, g)
        leaf, g = self._graph
        with torch.enable_grad():
            hv = torch.autograd.grad(g, leaf, grad_outputs=v.to(self.theta), retain_graph=True)[0]
        return hv.detach().to(v.dtype)

    def functional(self, v: torch.Tensor) -> torch.Tensor:
        """H v by forward-over-reverse, jvp(grad L, θ, v), recomputing the graph: batchable with ``vmap``."""
        out = None
        with _eval_mode(self.model):
            for xb, yb, w in self._batches():
                grad_fn = partial(grad(self._loss_at), xb=xb, yb=yb)
                hv = w * jvp(grad_fn, (self.theta,), (v.to(self.theta),))[1]
                out = hv if out is None else out + hv
        return out.to(v.dtype)


def hvp(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """H v (P,) for v (P,): one Hessian-vector product, ``HVP(model, loss_fn, x, y)(v)``."""
    return HVP(model, loss_fn, x, y)(v)


def exact_hessian(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, chunk: int = 256,
                  batch_size: int | None = None) -> torch.Tensor:
    """The full Hessian H (P, P) of the loss, ``chunk`` columns H e_i at a time (vmap over :class:`HVP`),
    symmetrized (H + Hᵀ)/2. For small nets only: P HVPs and P² numbers.

    >>> H = exact_hessian(nn.Linear(2, 1), lambda out, y: (out ** 2).mean(), torch.eye(2), None)
    >>> H.tolist()  # L = (w₁ + b)² / 2 + (w₂ + b)² / 2 over θ = (w₁, w₂, b)
    [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0]]
    """
    op = HVP(model, loss_fn, x, y, batch_size=batch_size)
    eye = torch.eye(op.P, dtype=op.dtype, device=op.device)
    H = torch.cat([vmap(op.functional)(eye[i: i + chunk]) for i in range(0, op.P, chunk)])  # row i = (H e_i)ᵀ
    return (H + H.T) / 2


# ------------------------------------------------------------------------------------ spectra


def _probe(hvp_fn: HVPFn, P: int, gen: torch.Generator, kind: str, device: Device, dtype: torch.dtype
           ) -> torch.Tensor:
    """A unit Gaussian or a Rademacher (±1) vector (P,), drawn on the CPU (the same on every device), moved to
    ``device`` (default: the hvp_fn's own ``device`` attribute, as an :class:`HVP` has, else the CPU)."""
    if kind == "rademacher":
        v = 2.0 * torch.randint(0, 2, (P,), generator=gen, dtype=torch.float64) - 1.0
    else:
        v = torch.randn(P, generator=gen, dtype=torch.float64)
        v = v / v.norm()
    return v.to(device=device if device is not None else getattr(hvp_fn, "device", "cpu"), dtype=dtype)


def _lanczos(hvp_fn: HVPFn, q: torch.Tensor, iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lanczos with full reorthogonalization from the unit vector q (P,): the m <= iters basis vectors Q (m, P)
    and the tridiagonal T = Qᵀ H Q (m, m), float64 on the CPU. Stops early when the Krylov space is invariant."""
    Q = q.new_zeros(min(iters, q.numel()), q.numel())
    alpha, beta, scale = [], [], 0.0
    breakdown = 1e-2 * torch.finfo(q.dtype).eps ** 0.5  # relative size of a residual that is only rounding
    for j in range(len(Q)):
        Q[j] = q
        w = hvp_fn(q).to(q)
        alpha.append(float(w @ q))
        scale = max(scale, float(w.norm()))
        for _ in range(2):  # Gram-Schmidt against all previous vectors, twice ("twice is enough")
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(w.norm())
        if j == len(Q) - 1 or b <= breakdown * scale:
            break
        beta.append(b)
        q = w / b
    off = torch.tensor(beta, dtype=torch.float64)
    T = torch.diag(torch.tensor(alpha, dtype=torch.float64)) + torch.diag(off, 1) + torch.diag(off, -1)
    return Q[: len(alpha)], T


def lanczos_top_eigs(hvp_fn: HVPFn, P: int, k: int = 1, iters: int = 100, seed: int = 0, *,
                     which: str = "largest", return_vectors: bool = False, device: Device = None,
                     dtype: torch.dtype = torch.float64):
    """The k largest (or smallest) eigenvalues of the symmetric H (P, P), by ``iters`` steps of Lanczos with full
    reorthogonalization from a Gaussian start (Lanczos 1950; Ghorbani et al. 2019): the Ritz values of T.

    Returns eigenvalues (k,) float64 on the CPU, largest first (smallest first for ``which="smallest"``), and with
    ``return_vectors`` also the Ritz vectors (k, P). Memory iters x P in ``dtype`` on ``device`` (default: the
    ``hvp_fn``'s device, if it has one, else the CPU). Each distinct eigenvalue is found once: multiplicities
    are not resolved from one start (if fewer than k are found, a warning says so and fewer are returned).

    >>> eigs = lanczos_top_eigs(lambda v: torch.arange(1.0, 11.0, dtype=v.dtype) * v, 10, k=2, iters=10)
    >>> eigs.round(decimals=8).tolist()
    [10.0, 9.0]
    """
    if which not in ("largest", "smallest"):
        raise ValueError(f"which={which!r} must be 'largest' or 'smallest'")
    if not 1 <= k <= min(iters, P):
        raise ValueError(f"k={k} must lie in [1, min(iters={iters}, P={P})]")
    gen = generator(int(seed))
    Q, T = _lanczos(hvp_fn, _probe(hvp_fn, P, gen, "gaussian", device, dtype), iters)
    theta, S = torch.linalg.eigh(T)  # ascending Ritz values, T's eigenvectors (m, m)
    if len(theta) < k:
        warnings.warn(f"Lanczos found only {len(theta)} distinct eigenvalues (asked for k={k})", stacklevel=2)
    idx = (torch.arange(len(theta)).flip(0) if which == "largest" else torch.arange(len(theta)))[:k]
    if not return_vectors:
        return theta[idx]
    return theta[idx], (S[:, idx].T.to(Q) @ Q)  # (k, P)


def power_iteration(hvp_fn: HVPFn, P: int, iters: int = 100, tol: float = 1e-6, seed: int = 0, *,
                    device: Device = None, dtype: torch.dtype = torch.float64) -> tuple[float, torch.Tensor]:
    """The eigenvalue of H of largest magnitude (the top one at a minimum), by power iteration v ← Hv/||Hv||,
    as PyHessian (Yao et al. 2020): the Rayleigh quotient vᵀHv, stopped when it changes by less than ``tol``
    (relative). Returns (eigenvalue, unit eigenvector (P,)). Converges as (|λ₂|/|λ₁|)^t.

    >>> round(power_iteration(lambda v: torch.tensor([3.0, 1.0, -1.0], dtype=v.dtype) * v, 3, iters=500)[0], 6)
    3.0
    """
    v, eig = _probe(hvp_fn, P, generator(int(seed)), "gaussian", device, dtype), None
    for _ in range(iters):
        w = hvp_fn(v).to(v)
        new, norm = float(w @ v), float(w.norm())
        if norm == 0.0:
            return 0.0, v
        v = w / norm
        if eig is not None and abs(new - eig) <= tol * abs(new):
            return new, v
        eig = new
    return eig, v


def hutchinson_trace(hvp_fn: HVPFn, P: int, samples: int = 100, seed: int = 0, *, device: Device = None,
                     dtype: torch.dtype = torch.float64) -> tuple[float, float]:
    """tr H ≈ mean of vᵀHv over ``samples`` Rademacher probes v ∈ {±1}^P (Hutchinson 1990; Avron & Toledo 2011;
    PyHessian). Returns (mean, standard error); the variance of one probe is 2 Σ_{i≠j} H_ij².

    >>> hutchinson_trace(lambda v: torch.tensor([1.0, 2.0, 3.0], dtype=v.dtype) * v, 3, samples=4)
    (6.0, 0.0)
    """
    if samples < 2:
        raise ValueError(f"samples={samples} must be >= 2 for a standard error")
    gen = generator(int(seed))
    probes = (_probe(hvp_fn, P, gen, "rademacher", device, dtype) for _ in range(samples))
    est = np.array([float(v @ hvp_fn(v).to(v)) for v in probes])
    return float(est.mean()), float(est.std(ddof=1) / math.sqrt(samples))


@dataclass(frozen=True)
class SpectralDensity:
    """The eigenvalue density of H (P, P) by stochastic Lanczos quadrature: per probe v, Lanczos from v/||v||
    gives nodes (T's eigenvalues) and weights (squared first components of its eigenvectors, summing to 1),
    a quadrature for vᵀ f(H) v / P ≈ (1/P) Σ_λ f(λ). Runs that stop early are padded with zero weights."""

    grid: np.ndarray  # (G,) eigenvalue axis
    density: np.ndarray  # (G,) (1/probes) Σ_p Σ_i w_pi N(grid; node_pi, sigma²), integrates to ~1
    nodes: np.ndarray  # (probes, m) Ritz values
    weights: np.ndarray  # (probes, m) quadrature weights
    sigma: float  # width of the Gaussian smoothing


def spectral_density(hvp_fn: HVPFn, P: int, iters: int = 80, probes: int = 1, seed: int = 0, grid=None,
                     sigma: float | None = None, *, device: Device = None,
                     dtype: torch.dtype = torch.float64) -> SpectralDensity:
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature with Rademacher probes and Gaussian
    smoothing (Lin, Saad & Yang 2016; Ghorbani, Krishnan & Xiao 2019; PyHessian). ``sigma`` default: 1/200 of
    the nodes' range; ``grid`` default: 1001 points over the nodes' range widened by 5 sigma. The first moment
    Σ w·node averages vᵀHv/P over the probes: tr H / P.

    >>> sd = spectral_density(lambda v: torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=v.dtype) * v, 4, iters=4)
    >>> sorted(np.round(sd.nodes[0], 6).tolist()), round(float(sd.weights.sum()), 9)
    ([1.0, 2.0, 3.0, 4.0], 1.0)
    """
    gen, m = generator(int(seed)), min(iters, P)
    nodes, weights = np.zeros((probes, m)), np.zeros((probes, m))
    for p in range(probes):
        v = _probe(hvp_fn, P, gen, "rademacher", device, dtype)
        T = _lanczos(hvp_fn, v / v.norm(), iters)[1]
        theta, S = torch.linalg.eigh(T)
        nodes[p, : len(theta)], weights[p, : len(theta)] = theta.numpy(), (S[0] ** 2).numpy()
    used = nodes[weights > 0]
    lo, hi = float(used.min()), float(used.max())
    sigma = sigma if sigma is not None else max(hi - lo, 1e-12 * max(abs(lo), abs(hi), 1.0)) / 200
    grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, 1001) if grid is None else np.asarray(grid, dtype=float)
    gauss = np.exp(-0.5 * ((grid[:, None] - nodes.reshape(1, -1)) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    density = gauss @ weights.reshape(-1) / probes  # (G,)
    return SpectralDensity(grid, density, nodes, weights, float(sigma))


def top_eigenvalue(model: nn.Module, x: torch.Tensor, y: torch.Tensor, iters: int = 40, seed: int = 0,
                   loss_fn: LossFn = F.cross_entropy) -> float:
    """λ_max of the Hessian of ``loss_fn`` (the mean cross-entropy by default) on (x, y) at the model's weights:
    Lanczos (at most ``iters`` steps, never more than P) on the Hessian-vector products of :class:`HVP`."""
    op = HVP(model, loss_fn, x, y)
    return float(lanczos_top_eigs(op, op.P, k=1, iters=min(iters, op.P), seed=seed)[0])


def rescale_layers(model: nn.Sequential, alpha: float, layer: int = 0) -> nn.Sequential:
    """Dinh et al.'s (2017) reparameterization of a ReLU MLP: a copy with the ``layer``-th Linear layer (weight
    and bias) times alpha and the next Linear layer's weight divided by alpha. relu(alpha z) = alpha relu(z) for
    alpha > 0, so the function is unchanged, while the curvature along the first layer's weights scales by
    1/alpha² and along the second's by alpha²."""
    if alpha <= 0:
        raise ValueError(f"alpha={alpha} must be positive (ReLU is only positively homogeneous)")
    net = copy.deepcopy(model)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    if not 0 <= layer < len(linears) - 1:
        raise ValueError(f"layer={layer}: rescaling needs Linear layers {layer} and {layer + 1}, the network has "
                         f"{len(linears)}")
    with torch.no_grad():
        linears[layer].weight.mul_(alpha)
        linears[layer].bias.mul_(alpha)
        linears[layer + 1].weight.div_(alpha)
    return net


def hessian_index(H: torch.Tensor, tol: float | None = None) -> float:
    """The index: the fraction of eigenvalues of the symmetric H (P, P) below -tol (Dauphin et al. 2014). H may
    also be its eigenvalues (P,). Default tol: P · eps(dtype) · max|λ|, the rounding level (as matrix_rank's).

    >>> hessian_index(torch.diag(torch.tensor([2.0, -1.0, 0.0, -3.0])))
    0.5
    """
    H = torch.as_tensor(H)
    eigs = H if H.dim() == 1 else torch.linalg.eigvalsh(H)
    if tol is None:
        tol = len(eigs) * torch.finfo(eigs.dtype).eps * float(eigs.abs().max())
    return float((eigs < -tol).double().mean())


# ------------------------------------------------------------------------------------ slices and paths


def random_direction(model: nn.Module | Params, seed: int = 0, filter_normalize: bool = True) -> Params:
    """A Gaussian direction d with the structure of the trainable parameters (name -> tensor of the same shape,
    dtype and device), drawn in float32 on the CPU from ``seed``.

    With ``filter_normalize`` (Li et al. 2018, "Visualizing the loss landscape of neural nets"), every filter --
    a row of a Linear weight, an output channel of a convolution: d[i] along dim 0 of a weight with >= 2 dims --
    is rescaled to the norm of the matching filter of θ, d[i] ← d[i] ||θ[i]|| / (||d[i]|| + 1e-10), and
    1-D parameters (biases, norm layers) get d = 0, as Li et al.'s default ``ignore='biasbn'``.

    >>> d = random_direction({"weight": torch.tensor([[3.0, 4.0]]), "bias": torch.ones(1)}, seed=0)
    >>> round(float(d["weight"].norm()), 4), d["bias"].tolist()
    (5.0, [0.0])
    """
    gen = generator(int(seed))
    direction = {}
    for name, w in _as_params(model).items():
        d = torch.randn(w.shape, generator=gen).to(device=w.device, dtype=w.dtype)
        if filter_normalize:
            if w.dim() <= 1:
                d = torch.zeros_like(w)
            else:
                scale = w.flatten(1).norm(dim=1) / (d.flatten(1).norm(dim=1) + 1e-10)  # (filters,)
                d = d * scale.reshape(-1, *([1] * (w.dim() - 1)))
        direction[name] = d
    return direction


def _vmapped_loss(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, G: int,
                  params_of: Callable[[int, int], Params], chunk: int) -> np.ndarray:
    """(G,) losses of the parameter sets params_of(i, j) (name -> (j - i, *shape)), chunk sets per vmap call."""
    if chunk < 1:
        raise ValueError(f"chunk={chunk} must be positive")
    _, rest = _split(model)

    def one(params: Params) -> torch.Tensor:
        return loss_fn(functional_call(model, {**params, **rest}, (x,)), y)

    with torch.no_grad(), _eval_mode(model):
        out = [vmap(one)(params_of(i, min(i + chunk, G))).cpu() for i in range(0, G, chunk)]
    return torch.cat(out).double().numpy()


def batched_loss(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, stacked: Params,
                 chunk: int = 64) -> np.ndarray:
    """L at G parameter sets at once, stacked as an ensemble: name -> (G, *shape) (e.g. from :func:`interpolate`)
    -> (G,) float64 array. ``chunk`` sets per vmap call over functional_call bound the memory (chunk x the
    activations of x); eval mode, no gradients.

    >>> net = nn.Linear(1, 1)
    >>> stacked = {"weight": torch.tensor([[[0.0]], [[1.0]]]), "bias": torch.zeros(2, 1)}
    >>> batched_loss(net, lambda out, y: ((out - y) ** 2).mean(), torch.ones(1, 1), torch.ones(1, 1), stacked)
    array([1., 0.])
    """
    G = len(next(iter(stacked.values())))
    return _vmapped_loss(model, loss_fn, x, y, G, lambda i, j: {n: s[i:j] for n, s in stacked.items()}, chunk)


def _affine_loss(model, loss_fn, x, y, directions: Sequence[Params], coeffs: torch.Tensor, chunk: int) -> np.ndarray:
    """(G,) losses at θ + Σ_k coeffs[g, k] directions[k], θ the model's parameters; coeffs (G, K)."""
    theta = _split(model)[0]
    for d in directions:
        if set(d) != set(theta):
            raise ValueError(f"direction has parameters {sorted(d)}, the model {sorted(theta)}")

    def params_of(i: int, j: int) -> Params:
        out = {}
        for name, t in theta.items():
            c = coeffs[i:j].to(t).reshape(j - i, -1, *([1] * t.dim()))  # (g, K, 1, ..., 1)
            out[name] = t + sum(c[:, k] * d[name] for k, d in enumerate(directions))  # (g, *shape)
        return out

    return _vmapped_loss(model, loss_fn, x, y, len(coeffs), params_of, chunk)


def slice_1d(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, direction: Params,
             alphas, chunk: int = 64) -> np.ndarray:
    """L(θ + α d) for α in ``alphas`` (A,) -> (A,) array, θ the model's parameters, d e.g. a
    :func:`random_direction` (Li et al. 2018, 1-D plots), evaluated as an ensemble (:func:`batched_loss`).

    >>> net = nn.Linear(1, 1, bias=False); _ = nn.init.ones_(net.weight)
    >>> slice_1d(net, lambda out, y: (out ** 2).mean(), torch.ones(1, 1), None, {"weight": -torch.ones(1, 1)},
    ...          [0.0, 1.0]).tolist()
    [1.0, 0.0]
    """
    a = torch.as_tensor(np.asarray(alphas, dtype=float)).reshape(-1, 1)
    return _affine_loss(model, loss_fn, x, y, [direction], a, chunk)


def slice_2d(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, d1: Params, d2: Params,
             alphas, betas, chunk: int = 64) -> np.ndarray:
    """L(θ + α d1 + β d2) on the grid alphas (A,) x betas (B,) -> (A, B) array, entry [i, j] at (alphas[i],
    betas[j]) (Li et al. 2018, contour plots with two filter-normalized directions).

    >>> net = nn.Linear(2, 1, bias=False)
    >>> d1, d2 = {"weight": torch.tensor([[1.0, 0.0]])}, {"weight": torch.tensor([[0.0, 1.0]])}
    >>> slice_2d(net, lambda out, y: (out ** 2).mean(), torch.eye(2), None, d1, d2, [0.0, 1.0], [0.0, 1.0, 2.0]).shape
    (2, 3)
    """
    a = torch.as_tensor(np.asarray(alphas, dtype=float))
    b = torch.as_tensor(np.asarray(betas, dtype=float))
    grid = torch.stack(torch.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)  # (A B, 2), row-major
    return _affine_loss(model, loss_fn, x, y, [d1, d2], grid, chunk).reshape(len(a), len(b))


def _combine(points: Sequence[nn.Module | Params], coeffs: Sequence[torch.Tensor]) -> Params:
    """Σ_k coeffs[k] points[k], coeffs of shape (T,) (a leading axis T) or () (one point)."""
    points = [_as_params(p) for p in points]
    if any(set(p) != set(points[0]) for p in points):
        raise ValueError("the networks have different parameter names")
    out = {}
    for name, p0 in points[0].items():
        terms = [c.to(p0).reshape(*c.shape, *([1] * p0.dim())) * p[name] for c, p in zip(coeffs, points)]
        out[name] = sum(terms[1:], terms[0])
    return out


def interpolate(params_a: nn.Module | Params, params_b: nn.Module | Params, alphas) -> Params:
    """The straight line (1 - α) θ_a + α θ_b between two networks (Goodfellow, Vinyals & Saxe 2015): alphas a float
    -> name -> shape; (A,) -> name -> (A, *shape), stacked for :func:`batched_loss`. Exact at α = 0 and 1.

    >>> interpolate({"w": torch.tensor([0.0, 2.0])}, {"w": torch.tensor([4.0, 2.0])}, [0.0, 0.25])["w"].tolist()
    [[0.0, 2.0], [1.0, 2.0]]
    """
    alpha = torch.as_tensor(np.asarray(alphas, dtype=float))
    return _combine([params_a, params_b], [1 - alpha, alpha])


def bezier_point(a: nn.Module | Params, theta: nn.Module | Params, b: nn.Module | Params, t) -> Params:
    """The quadratic Bezier curve φ(t) = (1 - t)² θ_a + 2 t (1 - t) θ + t² θ_b from network a to network b with
    control point θ (Garipov et al. 2018, "Loss surfaces, mode connectivity, and fast ensembling of DNNs"):
    t a float -> name -> shape; (T,) -> name -> (T, *shape). Exact at t = 0 and 1; φ(1/2) = (θ_a + 2θ + θ_b)/4.

    >>> bezier_point({"w": torch.zeros(1)}, {"w": torch.ones(1)}, {"w": torch.zeros(1)}, 0.5)["w"].tolist()
    [0.5]
    """
    t = torch.as_tensor(np.asarray(t, dtype=float))
    return _combine([a, theta, b], [(1 - t) ** 2, 2 * t * (1 - t), t ** 2])
