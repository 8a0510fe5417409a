"""Batches of in-memory tensors: shuffled image batches and truncated-BPTT token windows.

Both iterables replay exactly after their ``state_dict`` is restored, which makes a
resumed run see the same batches as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F


class TensorBatches:
    """Mini-batches of ``(images, labels)`` held in memory, optionally shuffled and augmented.

    Indexing whole batches of a tensor is much faster than a ``DataLoader`` over a
    ``TensorDataset``, which collates one sample at a time.

    Args:
        images: Float tensor of shape ``(N, C, H, W)``.
        labels: Int64 tensor of shape ``(N,)``.
        batch_size: Samples per batch. The last batch may be smaller.
        seed: Seed of the shuffling and augmentation generator, or None for a fixed
            order without augmentation.
        augment: Pad each image by 4 pixels (zeros after normalization) and crop it back
            at a random offset, for training batches.
        flip: With ``augment``, also mirror half of the images left to right.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        seed: int | None = None,
        augment: bool = False,
        flip: bool = True,
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) differ in length")
        if len(images) == 0:
            raise ValueError("cannot batch an empty split. Check the dataset size and the split settings")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if augment and seed is None:
            raise ValueError("augment=True needs a seed for the random crops")
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.augment = augment
        self.flip = flip
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        if self.generator is None:
            order = torch.arange(count)
        else:
            order = torch.randperm(count, generator=self.generator)
        for start in range(0, count, self.batch_size):
            index = order[start : start + self.batch_size]
            images = self.images[index]
            if self.augment:
                images = self._crop_and_flip(images)
            yield images, self.labels[index]

    def _crop_and_flip(self, images: torch.Tensor, padding: int = 4) -> torch.Tensor:
        height, width = images.shape[-2:]
        padded = F.pad(images, (padding, padding, padding, padding))
        offsets = torch.randint(0, 2 * padding + 1, (len(images), 2), generator=self.generator)
        crops = torch.stack(
            [padded[i, :, top : top + height, left : left + width] for i, (top, left) in enumerate(offsets.tolist())]
        )
        if self.flip:
            mirrored = torch.rand(len(images), generator=self.generator) < 0.5
            crops[mirrored] = crops[mirrored].flip(-1)
        return crops

    def state_dict(self) -> dict[str, Any]:
        """Return the generator state, so that the next epoch's order can be replayed."""
        return {"generator": None if self.generator is None else self.generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the generator state saved by :meth:`state_dict`."""
        if self.generator is not None and state_dict["generator"] is not None:
            self.generator.set_state(state_dict["generator"])


class TokenBatches:
    """Truncated-BPTT windows of a token stream, laid out as ``batch_size`` parallel rows.

    The stream is cut into ``batch_size`` contiguous rows (dropping the remainder), and
    each batch is ``(inputs, targets)`` of shape ``(batch_size, bptt)``, where targets are
    the inputs shifted by one token. The last window of a pass may be shorter. The order
    never changes, because the LSTM state carries from one window to the next.

    Args:
        tokens: Int64 tensor of token ids, one dimension.
        batch_size: Parallel rows.
        bptt: Tokens per window.

    Raises:
        ValueError: If the stream is too short for one window of two tokens per row.
    """

    def __init__(self, tokens: torch.Tensor, batch_size: int, bptt: int) -> None:
        if batch_size <= 0 or bptt <= 0:
            raise ValueError(f"batch_size and bptt must be positive, got {batch_size} and {bptt}")
        row_length = len(tokens) // batch_size
        if row_length < 2:
            raise ValueError(
                f"a stream of {len(tokens)} tokens is too short for {batch_size} rows of at least 2 tokens. "
                "Use more text or a smaller batch size"
            )
        self.rows = tokens[: row_length * batch_size].view(batch_size, row_length)
        self.batch_size = batch_size
        self.bptt = bptt

    def __len__(self) -> int:
        return -(-(self.rows.shape[1] - 1) // self.bptt)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        last_input = self.rows.shape[1] - 1
        for start in range(0, last_input, self.bptt):
            length = min(self.bptt, last_input - start)
            yield self.rows[:, start : start + length], self.rows[:, start + 1 : start + 1 + length]

    @property
    def num_tokens(self) -> int:
        """Number of target tokens in one pass."""
        return self.batch_size * (self.rows.shape[1] - 1)

    def state_dict(self) -> dict[str, Any]:
        """Return an empty dict: the order is fixed."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Accept the empty dict of :meth:`state_dict`."""


def fixed_order(loader: TensorBatches | TokenBatches) -> TensorBatches | TokenBatches:
    """Return a copy of ``loader`` that yields its batches in order, without augmentation.

    Iterating the copy leaves the shuffling generator of ``loader`` untouched, so a run
    replays the same batches. Token batches are already in a fixed order and come back as
    they are.
    """
    if isinstance(loader, TensorBatches):
        return TensorBatches(loader.images, loader.labels, loader.batch_size)
    return loader
