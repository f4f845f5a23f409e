"""dlgen_lib: the helper library of the executable course on why deep learning works.

One module per concept; the chapters import what they need from here:

* :mod:`~dlgen_lib.config` -- the scale switch (``DLGEN_SCALE``), the replicate seed (``DLGEN_SEED``), device,
  threads, progress bars;
* :mod:`~dlgen_lib.data` -- MNIST-1D, Fashion-MNIST, label and input corruption;
* :mod:`~dlgen_lib.models` -- MLP, 1-D and 2-D CNNs, seeded construction;
* :mod:`~dlgen_lib.train` -- one model, or K models at once (the ensemble trainer);
* :mod:`~dlgen_lib.cache` -- on-disk results cache;
* :mod:`~dlgen_lib.plotting`, :mod:`~dlgen_lib.widgets` -- one figure style, explorers over cached results;
* :mod:`~dlgen_lib.checks` -- the claims ledger: each claim with its value, threshold and margin (``DLGEN_CLAIMS``);
* :mod:`~dlgen_lib.memorization` -- chapter 1: fitting random labels and inputs, capacity vs validation bounds;
* :mod:`~dlgen_lib.kernels` -- Gaussian kernels, in-place Cholesky interpolation, minimum-norm least squares,
  Gabor features; :mod:`~dlgen_lib.kernel_trick` -- chapter 5's experiments and figures;
* :mod:`~dlgen_lib.fits` -- power laws with a floor (learning curves);
* :mod:`~dlgen_lib.random_features` -- ReLU random-features regression through the smaller Gram, the isotropic
  min-norm risk in closed form (double descent);
* :mod:`~dlgen_lib.sweeps` -- networks of many widths and seeds trained together, in width buckets of masked
  ensembles; :mod:`~dlgen_lib.double_descent` -- chapter 7's experiments and figures;
* :mod:`~dlgen_lib.landscape` -- Hessian-vector products (the gradient graph kept across products), Lanczos,
  Hutchinson trace and spectral density, the index, filter-normalized 1-D/2-D slices, straight and Bezier paths
  between networks; :mod:`~dlgen_lib.loss_landscape` -- chapter 2's experiments and figures;
* :mod:`~dlgen_lib.sde` -- SGD as a stochastic differential equation: many SGD replicas at once on finite-sum
  losses (a grid of learning rates and batch sizes in one simulation: ``sgd_replica_grid``), Euler–Maruyama,
  the OU variance, Gibbs densities, barriers and Kramers' rate, smoothing; :mod:`~dlgen_lib.sgd_as_sde` --
  chapter 3's experiments and figures;
* :mod:`~dlgen_lib.flatness` -- the Fisher information trace (exact and sampled), the Occam factor, effective
  dimensionality, the early-stopping index; :mod:`~dlgen_lib.implicit_regularization` -- chapter 4's
  experiments and figures;
* :mod:`~dlgen_lib.pruning` -- magnitude pruning per layer, random masks, rewinding, iterative pruning with its
  controls trained as one masked ensemble, mask locality; :mod:`~dlgen_lib.lottery` -- chapter 6's experiments
  (tickets, Conv-2/4/6, rewinding, instability along the line between two copies) and figures.

Importing the library loads no data, seeds nothing and changes no global state.
"""

__version__ = "0.1.0"

from . import checks, fits, flatness, kernels, landscape, plotting, pruning, random_features, sde, sweeps, widgets  # noqa: E402
from .cache import CacheError, CacheWarning, cache_dir, cached, clear_cache  # noqa: E402
from .checks import Claim, ClaimError, Ledger, check, check_close, claims_mode, paired_gap  # noqa: E402
from .config import (  # noqa: E402
    SCALES,
    ConfigError,
    by_scale,
    derive_seed,
    get_device,
    get_scale,
    get_seed_shift,
    get_threads,
    progress,
    setup_torch,
    usable_cpus,
)
from .data import (  # noqa: E402
    DataNotFoundError,
    Dataset,
    corrupt_labels,
    fashion_mnist,
    mnist1d,
    randomize_inputs,
)
from .models import MLP, ConvNet1D, ConvNet2D, build, param_count  # noqa: E402
from .train import Ensemble, History, TrainConfig, train, train_ensemble  # noqa: E402

__all__ = [
    "__version__", "checks", "fits", "flatness", "kernels", "landscape", "plotting", "pruning", "random_features",
    "sde", "sweeps", "widgets",
    "SCALES", "ConfigError", "by_scale", "get_device", "get_scale", "get_threads", "progress",
    "setup_torch", "usable_cpus", "DataNotFoundError", "Dataset", "corrupt_labels", "fashion_mnist", "mnist1d",
    "randomize_inputs", "MLP", "ConvNet1D", "ConvNet2D", "build", "param_count", "Ensemble", "History",
    "TrainConfig", "train", "train_ensemble", "CacheError", "CacheWarning", "cache_dir", "cached", "clear_cache",
    "Claim", "ClaimError", "Ledger", "check", "check_close", "claims_mode", "paired_gap", "derive_seed",
    "get_seed_shift",
]
