"""Root of the test session (library tests under tests/ and the chapters that nbval executes).

A failed claim must fail the tests, whatever the caller's shell says: the chapters' kernels inherit
``DLGEN_CLAIMS=raise`` from this process (a student's interactive default is ``warn``).
"""

import os


def pytest_configure(config):
    os.environ["DLGEN_CLAIMS"] = "raise"
