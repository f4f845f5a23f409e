"""Sphinx extension of the book (loaded through ``sphinx: local_extensions`` in _config.yml).

It sets ``DLGEN_PROGRESS=off`` and ``DLGEN_CLAIMS=raise`` in the environment of the build process. The Jupyter
kernels that myst-nb starts to execute the chapters inherit that environment, so no progress bar ends up in the
built HTML (in JupyterLab the bars show as usual), and a claim that does not hold fails the build (in a student's
session it only warns).
"""

import os


def setup(app):
    os.environ["DLGEN_PROGRESS"] = "off"
    os.environ["DLGEN_CLAIMS"] = "raise"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
