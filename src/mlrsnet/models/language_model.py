"""A word-level LSTM language model with tied input and output embeddings."""

from __future__ import annotations

import torch
from torch import nn

Hidden = tuple[torch.Tensor, torch.Tensor]

_INIT_RANGE = 0.1


def detach_hidden(hidden: Hidden) -> Hidden:
    """Return the LSTM state ``(h, c)`` cut from its graph, for truncated backpropagation through time.

    Call it between two chunks of a long sequence so that the next backward pass stops at the
    chunk boundary while the state's values carry over.
    """
    h, c = hidden
    return h.detach(), c.detach()


class LSTMLanguageModel(nn.Module):
    """Embedding, stacked LSTM and a linear decoder that shares the embedding weight.

    Dropout is applied to the embedding output and to the output of every LSTM layer. The
    embedding weight, which is also the decoder weight, starts uniform in [-0.1, 0.1] and the
    decoder bias starts at zero. Inputs and outputs are batch-first.

    Args:
        vocab_size: Number of words in the vocabulary.
        size: Embedding size, which is also the hidden size of every LSTM layer. The two
            must be equal for the decoder to share the embedding weight.
        num_layers: Number of stacked LSTM layers.
        dropout: Dropout probability, in [0, 1).

    Raises:
        ValueError: If ``vocab_size``, ``size`` or ``num_layers`` is not positive, or
            ``dropout`` is outside [0, 1).
    """

    detach_hidden = staticmethod(detach_hidden)

    def __init__(self, vocab_size: int, size: int, num_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        for arg_name, value in (("vocab_size", vocab_size), ("size", size), ("num_layers", num_layers)):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        self.vocab_size = vocab_size
        self.size = size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, size)
        self.dropout = nn.Dropout(dropout)
        # nn.LSTM applies its dropout to the outputs of all layers but the last, and
        # self.dropout covers the last one in forward().
        self.lstm = nn.LSTM(size, size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.decoder = nn.Linear(size, vocab_size)
        self.decoder.weight = self.embedding.weight

        nn.init.uniform_(self.embedding.weight, -_INIT_RANGE, _INIT_RANGE)
        nn.init.zeros_(self.decoder.bias)

    def init_hidden(self, batch_size: int, device: torch.device | str | None = None) -> Hidden:
        """Return a zero LSTM state ``(h, c)``, each of shape ``(num_layers, batch_size, size)``.

        The state takes the dtype of the model's parameters and, unless ``device`` is given,
        their device.
        """
        weight = self.embedding.weight
        shape = (self.num_layers, batch_size, self.size)
        device = weight.device if device is None else device
        return (
            torch.zeros(shape, dtype=weight.dtype, device=device),
            torch.zeros(shape, dtype=weight.dtype, device=device),
        )

    def forward(self, tokens: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """Predict the next word at every position.

        Args:
            tokens: Word indices of shape ``(batch, seq)``.
            hidden: LSTM state from the previous chunk, or ``None`` for a zero state.

        Returns:
            Logits of shape ``(batch, seq, vocab_size)`` and the new LSTM state.

        Raises:
            ValueError: If ``tokens`` is not two-dimensional.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (batch, seq), got shape {tuple(tokens.shape)}")
        embedded = self.dropout(self.embedding(tokens))
        output, hidden = self.lstm(embedded, hidden)
        logits = self.decoder(self.dropout(output))
        return logits, hidden
