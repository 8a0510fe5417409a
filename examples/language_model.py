"""Meta-train a schedule on a word-level LSTM language model, or train one with a schedule file.

    python examples/language_model.py ../shared/data/ptb/valid.txt --out lm_schedule.safetensors
    python examples/language_model.py ../shared/data/ptb/valid.txt --schedule official.safetensors
"""

import argparse
import math

import torch
import torch.nn.functional as F
from torch import nn

import mlrsnet

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("text", help="a word-level text file, one sentence per line (Penn Treebank format)")
parser.add_argument("--schedule", help="train with this schedule file instead of meta-training one")
parser.add_argument("--out", default="lm_schedule.safetensors", help="schedule file to write when meta-training")
parser.add_argument("--tokens", type=int, default=20000, help="tokens read from the start of the file")
parser.add_argument("--epochs", type=int, default=5, help="training epochs")
args = parser.parse_args()
torch.manual_seed(0)
torch.set_num_threads(1)  # small model on a shared CPU: one thread is fastest

# Data: words plus an end-of-sentence token; the last 10% of the tokens is held out.
with open(args.text, encoding="utf-8") as handle:
    words = [word for line in handle for word in line.split() + ["<eos>"]][: args.tokens]
vocabulary = {word: index for index, word in enumerate(dict.fromkeys(words))}
ids = torch.tensor([vocabulary[word] for word in words])
split = int(len(ids) * 0.9)
V, sequence_length, batch_size = len(vocabulary), 35, 20


def batches(stream: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Cut a token stream into (inputs, next-token targets) blocks of batch_size x 35."""
    block = batch_size * sequence_length
    count = (len(stream) - 1) // block
    inputs = stream[: count * block].view(count, batch_size, sequence_length)
    targets = stream[1 : count * block + 1].view(count, batch_size, sequence_length)
    return list(zip(inputs, targets))


train_batches, held_out = batches(ids[:split]), batches(ids[split:])
if not held_out:
    parser.error(f"--tokens {args.tokens} leaves no held-out block of {batch_size}x{sequence_length}; pass 8000 or more")


class LanguageModel(nn.Module):
    """An embedding, a 2-layer LSTM and a decoder that shares the embedding's weight."""

    def __init__(self, size: int = 200) -> None:
        super().__init__()
        self.embedding = nn.Embedding(V, size)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)  # keeps the first perplexity near V
        self.lstm = nn.LSTM(size, size, num_layers=2, dropout=0.3, batch_first=True)
        self.dropout = nn.Dropout(0.3)
        self.decoder = nn.Linear(size, V)
        self.decoder.weight = self.embedding.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.dropout(self.embedding(tokens)))
        return self.decoder(self.dropout(output))


def batch_loss(forward, batch):
    inputs, targets = batch
    return F.cross_entropy(forward(inputs).reshape(-1, V), targets.reshape(-1))


model = LanguageModel()
optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
total_steps = args.epochs * len(train_batches)

# The released language-model settings: loss / ln(V) as the net's input, gamma from the perplexity.
language_model_settings = dict(num_classes=V, input_scale=math.log(V), gamma_from_perplexity=True)
if args.schedule:
    scheduler = mlrsnet.MLRSNetScheduler(optimizer, args.schedule, total_steps, **language_model_settings)
else:
    trainer = mlrsnet.MetaTrainer(
        model, optimizer, held_out, total_steps, batch_loss=batch_loss, t_val=2, **language_model_settings
    )

for epoch in range(args.epochs):
    model.train()
    for batch in train_batches:
        optimizer.zero_grad()
        loss = batch_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)  # clipped before the step, so the look-ahead uses the clipped gradient too
        if args.schedule:
            scheduler.step(loss)
            optimizer.step()
        else:
            trainer.step(loss)
    lr = scheduler.get_last_lr()[0] if args.schedule else trainer.get_last_lr()[0]

    model.eval()
    with torch.no_grad():
        held_out_loss = sum(batch_loss(model, batch).item() for batch in held_out) / len(held_out)
    print(f"epoch {epoch + 1}: lr {lr:.3f}, held-out perplexity {math.exp(held_out_loss):.1f}")

if not args.schedule:
    trainer.schedule({"dataset": args.text, "model": "2-layer LSTM 200, tied", "epochs": args.epochs}).save(args.out)
    print(f"saved {args.out}")
