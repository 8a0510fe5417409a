"""Small models of the kinds the look-ahead must handle: BatchNorm CNNs, dropout LSTMs, tied embeddings."""

from __future__ import annotations

import torch
from torch import nn


class TinyBatchNormCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.conv(x)))
        return self.head(x.mean(dim=(2, 3)))


class TiedLSTMLanguageModel(nn.Module):
    """An embedding, a dropout LSTM and a decoder whose weight is the embedding's."""

    def __init__(self, vocab_size: int = 11, size: int = 6, dropout: float = 0.5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, size)
        self.lstm = nn.LSTM(size, size, num_layers=2, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(size, vocab_size)
        self.decoder.weight = self.embedding.weight

    def forward(self, tokens: torch.Tensor, hidden=None):
        output, hidden = self.lstm(self.dropout(self.embedding(tokens)), hidden)
        return self.decoder(self.dropout(output)), hidden


def language_model_loss(forward, batch):
    tokens, targets = batch
    logits, _ = forward(tokens)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def image_batch(seed: int, size: int = 6, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, 1, 5, 5, generator=generator, dtype=dtype), torch.randint(0, 3, (size,), generator=generator)


def token_batch(seed: int, vocab_size: int = 11):
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab_size, (3, 7), generator=generator)
    return tokens, torch.roll(tokens, -1, dims=1)
