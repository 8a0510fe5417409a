"""Train a small CNN on scikit-learn's digits with a meta-learned schedule, nothing to tune.

    python examples/transfer.py digits_schedule.safetensors
"""

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import mlrsnet

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("schedule", help="a schedule file, from examples/meta_train.py or `mlrsnet import-official`")
parser.add_argument("--epochs", type=int, default=8, help="training epochs")
args = parser.parse_args()
torch.manual_seed(1)
torch.set_num_threads(1)  # tiny model: one thread is fastest

# Data: another split of the digits than the schedule was meta-trained on.
images, labels = load_digits(return_X_y=True)
images = torch.tensor(images / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
labels = torch.tensor(labels)
order = torch.randperm(len(labels))
train_idx, test_idx = order[:1400], order[1400:]
train_loader = DataLoader(TensorDataset(images[train_idx], labels[train_idx]), batch_size=64, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)
scheduler = mlrsnet.MLRSNetScheduler(
    optimizer, args.schedule, total_steps=args.epochs * len(train_loader), num_classes=10
)

for epoch in range(args.epochs):
    model.train()
    for inputs, targets in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        scheduler.step(loss)  # this step's LR, from this step's loss
        optimizer.step()

    model.eval()
    with torch.no_grad():
        accuracy = (model(images[test_idx]).argmax(1) == labels[test_idx]).float().mean().item()
    print(f"epoch {epoch + 1}: lr {scheduler.get_last_lr()[0]:.4f}, test accuracy {accuracy:.3f}")
