"""Train, meta-data and test token streams of a word-level language-model task (Penn Treebank)."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mlrsnet.tasks.dataset_files import DownloadSettings, dataset_folder_with
from mlrsnet.tasks.spec import Budget

logger = logging.getLogger(__name__)

# The offline split holds out the last 10% of valid.txt as meta-data.
OFFLINE_META_FRACTION = 0.1


@dataclass
class TextSplits:
    """Token-id streams (int64, one dimension) of each split, and the vocabulary size."""

    train: torch.Tensor
    meta: torch.Tensor
    test: torch.Tensor
    vocab_size: int
    info: dict[str, Any] = field(default_factory=dict)


def load_text_splits(budget: Budget, data_dir: Path, *, download: DownloadSettings | None = None) -> TextSplits:
    """Read Penn Treebank from ``data_dir / "ptb"`` and split it as ``budget.split`` sets.

    ``standard``: train on ``train.txt``, meta-data ``valid.txt``, test ``test.txt``.
    ``offline``: train on ``valid.txt`` less its last 10% of tokens, which are the
    meta-data, and test on ``test.txt``. The vocabulary contains every word of the files
    read, in the order first seen, plus ``<eos>`` at each line end.

    Raises:
        DatasetNotFoundError: If a file is missing and ``download`` does not allow fetching it.
    """
    from mlrsnet.data.ptb import Vocabulary, read_ptb_words

    if budget.split == "offline":
        folder = _ptb_folder(data_dir, ("valid", "test"), download)
        valid, test = read_ptb_words(folder, "valid"), read_ptb_words(folder, "test")
        vocabulary = Vocabulary.from_words(itertools.chain(valid, test))
        valid_ids = vocabulary.encode(valid)
        cut = len(valid_ids) - round(len(valid_ids) * OFFLINE_META_FRACTION)
        train_ids, meta_ids = valid_ids[:cut], valid_ids[cut:]
        info = {"source": "valid.txt (train: first 90%, meta-data: last 10%), test.txt"}
    else:
        folder = _ptb_folder(data_dir, ("train", "valid", "test"), download)
        train, valid, test = (read_ptb_words(folder, split) for split in ("train", "valid", "test"))
        vocabulary = Vocabulary.from_words(itertools.chain(train, valid, test))
        train_ids, meta_ids = vocabulary.encode(train), vocabulary.encode(valid)
        info = {"source": "train.txt, meta-data valid.txt, test.txt"}

    test_ids = vocabulary.encode(test)
    if budget.train_limit is not None:
        train_ids = train_ids[: budget.train_limit]
        info["train_limit"] = budget.train_limit
    if budget.test_limit is not None:
        test_ids = test_ids[: budget.test_limit]
        info["test_limit"] = budget.test_limit
    info.update(
        {"vocab_size": len(vocabulary), "train_tokens": len(train_ids), "meta_tokens": len(meta_ids), "test_tokens": len(test_ids)}
    )
    logger.info("ptb splits: %s", info)
    return TextSplits(train_ids, meta_ids, test_ids, len(vocabulary), info)


def _ptb_folder(data_dir: Path, splits: tuple[str, ...], download: DownloadSettings | None) -> Path:
    # The catalog also accepts the Mikolov names (ptb.valid.txt) for the short ones (valid.txt).
    return dataset_folder_with("ptb", data_dir, [f"{split}.txt" for split in splits], download)
