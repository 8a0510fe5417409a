import json
import logging

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from mlrsnet import NonFiniteLossError
from mlrsnet.baselines import make_baseline
from mlrsnet.data import load_digits_splits
from mlrsnet.models import MLP
from mlrsnet.runs import EpochRecord, RunResult, evaluate, train


@pytest.fixture(scope="module")
def digits():
    return load_digits_splits(seed=0)


def _loaders(splits, batch_size=64):
    train_loader = DataLoader(
        splits.train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    test_loader = DataLoader(splits.test, batch_size=200)
    return train_loader, test_loader


def _mlp(splits):
    torch.manual_seed(0)
    return MLP(splits.input_shape, splits.num_classes, hidden_sizes=(32,))


class FailingSGD:
    """SGD whose step raises ``error`` from step ``fail_at`` on, as a method that rejects a value."""

    def __init__(self, params, error, fail_at):
        self.name = "failing-sgd"
        self.optimizer = torch.optim.SGD(params, lr=0.1)
        self.error = error
        self.fail_at = fail_at
        self.steps = 0

    def step(self, loss):
        if self.steps >= self.fail_at:
            raise self.error
        self.optimizer.step()
        self.steps += 1

    def end_epoch(self, epoch, val_loss):
        pass

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]


def test_train_records_one_lr_per_step(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = make_baseline("exponential", model.parameters(), epochs=3, steps_per_epoch=len(train_loader))

    result = train(model, method, train_loader, test_loader, epochs=3)

    steps_per_epoch = len(train_loader)
    assert len(result.lr_per_step) == 3 * steps_per_epoch
    assert len(result.loss_per_step) == 3 * steps_per_epoch
    assert len(result.train_loss) == 3
    assert len(result.test_loss) == 3
    assert len(result.test_metric) == 3
    for step, lr in enumerate(result.lr_per_step):
        assert lr == pytest.approx(0.1 * 0.95 ** (step // steps_per_epoch))
    assert result.method == "exponential"
    assert not result.diverged
    assert result.diverged_step is None
    assert result.wall_time_s > 0


def test_train_loss_is_epoch_mean_of_step_losses(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=2, steps_per_epoch=len(train_loader))

    result = train(model, method, train_loader, test_loader, epochs=2)

    steps_per_epoch = len(train_loader)
    for epoch in range(2):
        epoch_losses = result.loss_per_step[epoch * steps_per_epoch : (epoch + 1) * steps_per_epoch]
        assert result.train_loss[epoch] == pytest.approx(sum(epoch_losses) / steps_per_epoch)


def test_train_calls_step_and_epoch_callbacks(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=2, steps_per_epoch=len(train_loader))
    step_calls = []
    epoch_calls = []

    result = train(
        model,
        method,
        train_loader,
        test_loader,
        epochs=2,
        on_step=lambda step, loss, lr: step_calls.append((step, loss, lr)),
        on_epoch=lambda epoch, record: epoch_calls.append((epoch, record)),
    )

    assert [call[0] for call in step_calls] == list(range(len(result.lr_per_step)))
    assert [call[1] for call in step_calls] == result.loss_per_step
    assert [call[2] for call in step_calls] == result.lr_per_step
    assert [epoch for epoch, _ in epoch_calls] == [0, 1]
    last_record = epoch_calls[-1][1]
    assert isinstance(last_record, EpochRecord)
    assert last_record.test_loss == result.test_loss[-1]
    assert last_record.test_metric == result.test_metric[-1]
    assert last_record.train_loss == result.train_loss[-1]


def test_short_sgd_run_learns_digits(digits):
    train_loader, test_loader = _loaders(digits, batch_size=32)
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=3, steps_per_epoch=len(train_loader), momentum=0.9)

    result = train(model, method, train_loader, test_loader, epochs=3)

    assert result.test_metric[-1] > 0.8
    assert result.train_loss[-1] < result.train_loss[0]


def test_huge_lr_run_is_marked_diverged(digits, caplog):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=3, steps_per_epoch=len(train_loader), lr=1e6)

    with caplog.at_level(logging.WARNING, logger="mlrsnet.runs.loop"):
        result = train(model, method, train_loader, test_loader, epochs=3)

    assert result.diverged
    assert result.diverged_step is not None
    assert len(result.lr_per_step) == result.diverged_step
    assert len(result.test_loss) < 3
    assert "diverged at step" in caplog.text
    json.dumps(result.to_dict(), allow_nan=False)


def test_non_finite_test_loss_marks_diverged(digits):
    # One full-batch step with LR 1e30 leaves finite training loss but NaN test loss.
    _, test_loader = _loaders(digits)
    train_loader = DataLoader(digits.train, batch_size=len(digits.train))
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=3, steps_per_epoch=1, lr=1e30)

    result = train(model, method, train_loader, test_loader, epochs=3)

    assert result.diverged
    assert result.diverged_step == 0
    assert len(result.lr_per_step) == 1
    assert len(result.test_loss) == 1
    assert result.to_dict()["test_loss"] == [None]


def test_method_nan_error_marks_diverged(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = FailingSGD(model.parameters(), NonFiniteLossError("step 5: the meta-data loss is nan"), fail_at=5)

    result = train(model, method, train_loader, test_loader, epochs=2)

    assert result.diverged
    assert result.diverged_step == 5
    assert len(result.lr_per_step) == 5


def test_method_other_value_error_propagates(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    method = FailingSGD(model.parameters(), ValueError("gamma must be positive, got -1"), fail_at=0)

    with pytest.raises(ValueError, match="gamma must be positive"):
        train(model, method, train_loader, test_loader, epochs=1)


def test_run_result_to_dict_is_json_ready():
    result = RunResult(method="fixed", test_loss=[0.5, float("nan")], loss_per_step=[float("inf"), 1.0])

    data = result.to_dict()

    assert data["test_loss"] == [0.5, None]
    assert data["loss_per_step"] == [None, 1.0]
    assert json.loads(json.dumps(data, allow_nan=False))["method"] == "fixed"


def test_evaluate_weights_batches_by_size(digits):
    model = _mlp(digits).train()
    images, labels = digits.test.tensors
    uneven_loader = DataLoader(digits.test, batch_size=150)

    loss, accuracy = evaluate(model, uneven_loader, F.cross_entropy)

    with torch.no_grad():
        model.eval()
        logits = model(images)
    assert loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert accuracy == pytest.approx((logits.argmax(1) == labels).float().mean().item())


def test_evaluate_restores_training_mode(digits):
    model = _mlp(digits).train()

    evaluate(model, DataLoader(digits.test, batch_size=200))

    assert model.training


def test_empty_loaders_raise(digits):
    model = _mlp(digits)
    empty = DataLoader(TensorDataset(torch.empty(0, 1, 8, 8), torch.empty(0, dtype=torch.int64)))
    method = make_baseline("fixed", model.parameters(), epochs=1, steps_per_epoch=1)

    with pytest.raises(ValueError, match="evaluation loader yielded no samples"):
        evaluate(model, empty)
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        train(model, method, empty, DataLoader(digits.test), epochs=1)


@pytest.mark.parametrize("epochs", [0, -2, 1.5])
def test_invalid_epochs_raise(digits, epochs):
    model = _mlp(digits)
    method = make_baseline("fixed", model.parameters(), epochs=1, steps_per_epoch=1)
    train_loader, test_loader = _loaders(digits)

    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(model, method, train_loader, test_loader, epochs=epochs)


class GradientNormRecorder:
    """SGD that records the gradient norm it receives at each step."""

    def __init__(self, params):
        self.name = "recorder"
        self.optimizer = torch.optim.SGD(params, lr=0.1)
        self.norms = []

    def step(self, loss):
        grads = [p.grad for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
        self.optimizer.step()

    def end_epoch(self, epoch, val_loss):
        pass

    def get_last_lr(self):
        return [0.1]


def test_max_grad_norm_clips_before_step(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    unclipped = GradientNormRecorder(model.parameters())
    train(model, unclipped, train_loader, test_loader, 1)
    assert max(unclipped.norms) > 0.5

    model = _mlp(digits)
    clipped = GradientNormRecorder(model.parameters())
    train(model, clipped, train_loader, test_loader, 1, max_grad_norm=0.25)
    assert max(clipped.norms) <= 0.25 + 1e-6


def test_max_grad_norm_must_be_positive(digits):
    train_loader, test_loader = _loaders(digits)
    model = _mlp(digits)
    with pytest.raises(ValueError, match="max_grad_norm must be a positive number"):
        train(model, GradientNormRecorder(model.parameters()), train_loader, test_loader, 1, max_grad_norm=0.0)
