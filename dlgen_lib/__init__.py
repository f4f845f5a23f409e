"""dlgen_lib: the helper library of the executable course on why deep learning works.

Shared machinery and shared science are flat modules; each chapter is a package under :mod:`dlgen_lib.chapters`.

Infrastructure:

* :mod:`~dlgen_lib.config` -- the scale switch (``DLGEN_SCALE``), the replicate seed (``DLGEN_SEED``), device,
  threads, progress bars, and the checked configs: :func:`~dlgen_lib.config.scaled` builds any chapter's config
  for a scale from its presets, with checked overrides;
* :mod:`~dlgen_lib.cache` -- on-disk results cache, keyed by the config parts an experiment reads and the code it
  can reach;
* :mod:`~dlgen_lib.checks` -- the claims ledger: each claim with its value, threshold and margin (``DLGEN_CLAIMS``);
* :mod:`~dlgen_lib.plotting`, :mod:`~dlgen_lib.widgets` -- one figure style, explorers over cached results.

Training machinery: :mod:`~dlgen_lib.data` (MNIST-1D, Fashion-MNIST, label and input corruption),
:mod:`~dlgen_lib.models` (MLP, 1-D and 2-D CNNs, seeded construction), :mod:`~dlgen_lib.train` (one model, or K
models at once), :mod:`~dlgen_lib.sweeps` (networks of many widths and seeds trained together, in width buckets
of masked ensembles).

Shared science, usable outside the book:

* :mod:`~dlgen_lib.landscape` -- Hessian-vector products, Lanczos, Hutchinson trace and spectral density, the
  index, filter-normalized slices, straight and Bezier paths between networks;
* :mod:`~dlgen_lib.flatness` -- the Fisher information trace, the Occam factor, effective dimensionality, the
  early-stopping index;
* :mod:`~dlgen_lib.fits` -- power laws with a floor (learning curves);
* :mod:`~dlgen_lib.bounds` -- the VC, Rademacher and validation bounds on the test error;
* :mod:`~dlgen_lib.sde` -- SGD as a stochastic differential equation: SGD replicas on finite-sum losses,
  Euler–Maruyama, the OU variance, Gibbs densities, barriers and Kramers' rate, smoothing;
* :mod:`~dlgen_lib.kernels` -- Gaussian kernels, Cholesky interpolation, minimum-norm least squares, Gabor
  features;
* :mod:`~dlgen_lib.random_features` -- ReLU random-features regression, the isotropic min-norm risk in closed form;
* :mod:`~dlgen_lib.pruning` -- magnitude pruning, random masks, rewinding, iterative pruning with its controls
  trained as one masked ensemble, mask locality.
* :mod:`~dlgen_lib.meanfield` -- signal propagation in wide random networks: the length and correlation maps,
  χ₁, the critical line, the depth scale ξ_c;
* :mod:`~dlgen_lib.adversarial` -- FGSM and PGD attacks in an L∞ ball, for K models at once;
* :mod:`~dlgen_lib.evidence` -- the exact evidence of Bayesian linear regression and its data-fit / Occam split;
* :mod:`~dlgen_lib.nonequilibrium` -- the stationary covariance and probability current of linear SGD, local
  entropy, one outer step of Entropy-SGD and the perturbed point of smoothed SGD.

Chapters: ``dlgen_lib.chapters.chNN_<notebook name>`` (see :mod:`dlgen_lib.chapters`), each with
``experiments`` and ``figures``; a notebook imports its chapter as ``from dlgen_lib.chapters import chNN_<name>
as ch``.

Axis letters. Every shape in the library (docstrings, comments) uses these letters, with one meaning each:

====  =====================================================================================
K     models trained together (the leading axis of an ensemble's stacked parameters)
S     seeds: independent replicates of one setting
E     evaluation points: the recorded steps of a training run
n     training examples; m: validation or test examples
P     parameters of one model (flattened)
R     replicas of a stochastic process (SGD or SDE paths started together)
W     widths of a width sweep
V     values of a swept setting (strengths, ratios, learning rates, noise levels)
B     a minibatch (its size: batch_size)
C     classes
D     input dimension (features of one example)
T     time steps of a trajectory
L     layers
A     points along a line, slice or path between networks (alpha, t)
====  =====================================================================================

Importing the library loads no data, seeds nothing and changes no global state.
"""

__version__ = "0.2.0"

from . import (  # noqa: E402,E501
    bounds,
    checks,
    fits,
    flatness,
    kernels,
    landscape,
    plotting,
    pruning,
    random_features,
    sde,
    sweeps,
    widgets,
)
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
    scaled,
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
    "__version__", "bounds", "checks", "fits", "flatness", "kernels", "landscape", "plotting", "pruning",
    "random_features", "sde", "sweeps", "widgets",
    "SCALES", "ConfigError", "by_scale", "get_device", "get_scale", "get_threads", "progress", "scaled",
    "setup_torch", "usable_cpus", "DataNotFoundError", "Dataset", "corrupt_labels", "fashion_mnist", "mnist1d",
    "randomize_inputs", "MLP", "ConvNet1D", "ConvNet2D", "build", "param_count", "Ensemble", "History",
    "TrainConfig", "train", "train_ensemble", "CacheError", "CacheWarning", "cache_dir", "cached", "clear_cache",
    "Claim", "ClaimError", "Ledger", "check", "check_close", "claims_mode", "paired_gap", "derive_seed",
    "get_seed_shift",
]
