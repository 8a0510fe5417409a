"""Meta-train a schedule net while training an MLP on scikit-learn's digits, then save the schedule.

    python examples/meta_train.py --out digits_schedule.safetensors
"""

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import mlrsnet

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="digits_schedule.safetensors", help="schedule file to write")
parser.add_argument("--epochs", type=int, default=30, help="training epochs")
parser.add_argument("--t-val", type=int, default=2, help="steps between look-aheads")
args = parser.parse_args()
torch.manual_seed(0)
torch.set_num_threads(1)  # tiny model: one thread is fastest

# Data: 1,397 images to train on, 200 held out as meta-data, 200 to test.
images, labels = load_digits(return_X_y=True)
images = torch.tensor(images / 16.0, dtype=torch.float32)
labels = torch.tensor(labels)
order = torch.randperm(len(labels))
train_idx, meta_idx, test_idx = order[:1397], order[1397:1597], order[1597:]
train_loader = DataLoader(TensorDataset(images[train_idx], labels[train_idx]), batch_size=64, shuffle=True)
meta_loader = DataLoader(TensorDataset(images[meta_idx], labels[meta_idx]), batch_size=100, shuffle=True)

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)

# gamma comes from the released rule: the untrained model's mean loss and the 10 classes.
batch_loss = mlrsnet.supervised_loss(F.cross_entropy)
initial_loss = mlrsnet.mean_initial_loss(model, train_loader, batch_loss)
trainer = mlrsnet.MetaTrainer(
    model, optimizer, meta_loader, total_steps=args.epochs * len(train_loader),
    t_val=args.t_val, num_classes=10, initial_loss=initial_loss,
)

for epoch in range(args.epochs):
    for inputs, targets in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        trainer.step(loss)  # sets the LR, runs the look-ahead every t_val steps, steps the optimizer

    # Evaluate once per epoch; the schedule net does not see this.
    with torch.no_grad():
        accuracy = (model(images[test_idx]).argmax(1) == labels[test_idx]).float().mean().item()
    print(f"epoch {epoch + 1}: lr {trainer.get_last_lr()[0]:.4f}, test accuracy {accuracy:.3f}")

trainer.schedule({"dataset": "digits", "model": "MLP 64-128-10", "epochs": args.epochs}).save(args.out)
print(f"saved {args.out}")
