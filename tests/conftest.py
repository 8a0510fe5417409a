"""Shared test fixtures: the read-only reference files that sit beside the checkout in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MLRSNET_SHARED", REPO_ROOT.parent / "shared"))
OFFICIAL_DIR = SHARED / "reference" / "official-mlrsnet"
# The test models are tiny: one thread is faster, and OpenMP threads spin badly on a busy 2-core machine.
torch.set_num_threads(1)

OFFICIAL_FILES = [OFFICIAL_DIR / f"mlr_snet {epoch}.pth" for epoch in (1, 100, 200)]


def _require(path: Path) -> Path:
    # In CI the shared folder is always there, so a missing file is a failure; elsewhere, a skip.
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"{path} is missing; CI expects the shared folder beside the checkout "
                "(or MLRSNET_SHARED set to the folder that contains reference/official-mlrsnet)"
            )
        pytest.skip(f"{path} is not present (set MLRSNET_SHARED to the folder that contains reference/official-mlrsnet)")
    return path


@pytest.fixture
def official_files() -> list[Path]:
    return [_require(path) for path in OFFICIAL_FILES]


@pytest.fixture
def expected_outputs_path() -> Path:
    return _require(OFFICIAL_DIR / "expected_outputs.json")


@pytest.fixture
def ptb_valid_path() -> Path:
    return _require(SHARED / "data" / "ptb" / "valid.txt")


SHARED_DATA_FILES = [
    Path("mnist/t10k-images-idx3-ubyte.gz"),
    Path("mnist/t10k-labels-idx1-ubyte.gz"),
    Path("ptb/valid.txt"),
    Path("ptb/test.txt"),
]


@pytest.fixture
def shared_data_dir() -> Path:
    """The shared data folder, holding mnist/ (test set) and ptb/ (valid and test text)."""
    for relative in SHARED_DATA_FILES:
        _require(SHARED / "data" / relative)
    return SHARED / "data"
