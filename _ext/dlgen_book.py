"""Sphinx extension of the book (loaded through ``sphinx: local_extensions`` in _config.yml).

It sets ``DLGEN_PROGRESS=off`` in the environment of the build process. The Jupyter kernels that myst-nb
starts to execute the chapters inherit that environment, so :func:`dlgen_lib.config.progress_enabled` is
false in them and no progress bar ends up in the built HTML (in JupyterLab the bars show as usual).
"""

import os


def setup(app):
    os.environ["DLGEN_PROGRESS"] = "off"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
