"""Rebuild data/fashion-mnist-subset from the full Fashion-MNIST files.

The subset is the first 10 000 training and the first 2 000 test images (and labels) of the official files,
which are already in random order. Run: python data/make_subset.py [FOLDER_WITH_THE_FULL_SET]
"""

import sys
from pathlib import Path

from dlgen_lib.data import FASHION_FILES, FASHION_SHA256, SUBSET_DIR, SUBSET_SIZES, read_idx, write_idx

if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/usr/share/datasets/fashion-mnist")
    target = Path(__file__).resolve().parent / SUBSET_DIR
    target.mkdir(exist_ok=True)
    for key, fname in FASHION_FILES.items():
        n = SUBSET_SIZES[0] if key.startswith("train") else SUBSET_SIZES[1]
        write_idx(target / fname, read_idx(source / fname, FASHION_SHA256[key])[:n])
        print(f"wrote {target / fname}")
