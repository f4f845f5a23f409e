"""One package per chapter, each of the same shape (``chNN_<notebook name>/``):

* ``experiments.py`` -- the chapter's config (a :class:`~dlgen_lib.config.CheckedConfig` made of one part per
  experiment, built by :func:`dlgen_lib.config.scaled`) and its cached experiments, each taking only the parts
  it reads;
* ``figures.py`` -- its plots and explorers;
* ``__init__.py`` -- its public face, written out (no star imports), with ``CONFIG``, the config class.

A notebook imports its chapter as ``from dlgen_lib.chapters import chNN_<name> as ch``. Data flows one way:
the shared library -> a chapter's ``experiments`` -> its ``figures`` -> the notebook. No chapter imports another,
and no ``experiments`` module imports figure code (tests keep it so: the cache fingerprint of an experiment covers
the code it can reach, so a figure must not be part of it).

Importing this package imports no chapter.
"""

CHAPTERS = (
    "ch01_memorization",
    "ch02_loss_landscape",
    "ch03_sgd_as_sde",
    "ch04_implicit_regularization",
    "ch05_kernel_trick",
    "ch06_lottery_tickets",
    "ch07_double_descent",
    "ch08_depth_and_chaos",
    "ch09_evidence_or_equilibrium",
)
