"""The task registry, the offline splits on the shared data, loaders and objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlrsnet.data.paths import DatasetNotFoundError
from mlrsnet.tasks.loaders import TensorBatches, TokenBatches
from mlrsnet.tasks.objectives import LanguageModelObjective
from mlrsnet.tasks.prepare import prepare_task
from mlrsnet.tasks.registry import TASKS, get_task

ISSUED_TASKS = [
    "digits-mlp", "digits-cnn", "mnist-cnn", "mnist-resnet18", "ptb-lstm2", "ptb-lstm3",
    "cifar10-resnet18", "cifar100-wrn28-10", "cifar10-shufflenetv2", "cifar10-mobilenetv2",
    "svhn-resnet18", "tinyimagenet-resnet18", "ptb-lstm2-paper", "ptb-lstm3-paper",
]
OFFLINE_TASKS = ["digits-mlp", "digits-cnn", "mnist-cnn", "mnist-resnet18", "ptb-lstm2", "ptb-lstm3"]


def test_registry_has_every_task():
    assert sorted(TASKS) == sorted(ISSUED_TASKS)
    for task in TASKS.values():
        assert set(task.budgets) == {"cpu", "paper"}


def test_paper_budgets_follow_the_method():
    image = get_task("cifar10-resnet18").budget("paper")
    assert (image.epochs, image.batch_size, image.lr, image.weight_decay) == (200, 128, 0.1, 5e-4)
    language = get_task("ptb-lstm3-paper").budget("paper")
    assert (language.epochs, language.batch_size, language.lr, language.adam_lr) == (150, 32, 20.0, 0.01)
    assert (language.weight_decay, language.max_grad_norm) == (5e-6, 0.25)
    assert language.model_options == {"size": 512, "num_layers": 3}


def test_unknown_task_and_budget_errors():
    with pytest.raises(ValueError, match="unknown task 'mnist'.*mnist-cnn"):
        get_task("mnist")
    with pytest.raises(ValueError, match="unknown budget 'gpu'.*cpu, paper"):
        get_task("mnist-cnn").budget("gpu")


@pytest.mark.parametrize("name", OFFLINE_TASKS)
def test_cpu_budget_gives_200_lookaheads(name, shared_data_dir):
    prepared = prepare_task(name, "cpu", data_dir=shared_data_dir)
    lookaheads = math.ceil(prepared.total_steps / prepared.budget.t_val)
    assert lookaheads >= 200


# Training-split sizes after the meta-data split: images, or tokens with one <eos> per line.
TRAIN_SIZES = {
    ("digits", "standard"): 1197,
    ("mnist", "offline"): 8000,
    ("mnist", "standard"): 59000,
    ("cifar10", "standard"): 49000,
    ("cifar100", "standard"): 49000,
    ("svhn", "standard"): 72257,
    ("tinyimagenet", "standard"): 99000,
    ("ptb", "offline"): 66384,
    ("ptb", "standard"): 929589,
}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_budget_gives_200_lookaheads(name):
    task = get_task(name)
    for budget in task.budgets.values():
        size = TRAIN_SIZES[task.dataset, budget.split]
        if budget.train_limit is not None:
            size = min(size, budget.train_limit)
        per_step = budget.batch_size * budget.bptt if task.kind == "language" else budget.batch_size
        lookaheads = math.ceil(size / per_step) * budget.epochs / budget.t_val
        assert lookaheads >= 200, f"{name}: {lookaheads:.0f} look-aheads"


def _row_keys(images: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in images}


def test_mnist_offline_split(shared_data_dir):
    first = prepare_task("mnist-cnn", "cpu", seed=0, data_dir=shared_data_dir)
    other_seed = prepare_task("mnist-cnn", "cpu", seed=5, data_dir=shared_data_dir)
    loaders = (first.train_loader, first.meta_loader, first.test_loader)
    assert [len(loader.labels) for loader in loaders] == [8000, 1000, 1000]
    assert first.data_info["input_shape"] == [1, 28, 28]

    # The three splits are disjoint and the split does not depend on the run seed.
    train, meta, test = (_row_keys(loader.images) for loader in loaders)
    assert not train & meta
    assert not train & test
    assert not meta & test
    assert torch.equal(first.train_loader.images, other_seed.train_loader.images)

    # Normalized with the train statistics.
    assert abs(first.train_loader.images.mean().item()) < 1e-3
    assert first.train_loader.images.std().item() == pytest.approx(1.0, abs=1e-3)
    assert set(first.train_loader.labels.unique().tolist()) == set(range(10))


def test_ptb_offline_split(shared_data_dir):
    prepared = prepare_task("ptb-lstm2", "cpu", data_dir=shared_data_dir)
    info = prepared.data_info
    # valid.txt has 73,760 tokens counting one <eos> per line, and test.txt 82,430.
    assert info["train_tokens"] + info["meta_tokens"] == 73760
    assert info["meta_tokens"] == round(73760 * 0.1)
    assert info["test_tokens"] == 82430
    assert prepared.num_classes == info["vocab_size"]
    assert prepared.schedule_settings["gamma_from_perplexity"] is True
    assert prepared.schedule_settings["input_scale"] == pytest.approx(math.log(info["vocab_size"]))
    model = prepared.build_model()
    assert model.decoder.weight is model.embedding.weight


def test_missing_data_names_folder_and_flag(tmp_path):
    with pytest.raises(DatasetNotFoundError) as caught:
        prepare_task("mnist-cnn", "cpu", data_dir=tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "mnist") in message
    assert "--download" in message


def test_corruption_keeps_meta_clean():
    clean = prepare_task("digits-cnn", "cpu")
    noisy = prepare_task("digits-cnn", "cpu", corruption="gaussian_noise", severity=5)
    assert torch.equal(clean.train_loader.labels, noisy.train_loader.labels)
    assert not torch.allclose(clean.train_loader.images, noisy.train_loader.images)
    assert not torch.allclose(clean.test_loader.images, noisy.test_loader.images)
    # The meta-data is standardized with other statistics but contains the same clean pixels.
    clean_meta = clean.meta_loader.images.flatten(1)
    noisy_meta = noisy.meta_loader.images.flatten(1)
    correlation = np.corrcoef(clean_meta.flatten().numpy(), noisy_meta.flatten().numpy())[0, 1]
    assert correlation == pytest.approx(1.0, abs=1e-6)
    assert noisy.data_info["corruption"] == {"name": "gaussian_noise", "severity": 5, "meta": "clean", "test": "corrupted on the fly"}


def test_corruption_errors():
    with pytest.raises(ValueError, match="image tasks"):
        prepare_task("ptb-lstm2", "cpu", corruption="fog", severity=1)
    with pytest.raises(ValueError, match="severity"):
        prepare_task("digits-cnn", "cpu", corruption="fog", severity=None)
    with pytest.raises(ValueError, match="fogg"):
        prepare_task("digits-cnn", "cpu", corruption="fogg", severity=1)


def test_unknown_override_is_rejected():
    with pytest.raises(ValueError, match="unknown budget field.*epoch\\b"):
        prepare_task("digits-mlp", "cpu", overrides={"epoch": 2})


def test_tensor_batches_cover_every_sample_once():
    images = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1)
    labels = torch.arange(10)
    loader = TensorBatches(images, labels, batch_size=4, seed=3)
    batches = list(loader)
    assert [len(batch[1]) for batch in batches] == [4, 4, 2]
    seen = torch.cat([batch[1] for batch in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))
    # Images travel with their labels.
    assert torch.equal(torch.cat([batch[0] for batch in batches]).flatten(), seen.float())


def test_tensor_batches_replay_after_state_restore():
    labels = torch.arange(50)
    loader = TensorBatches(torch.zeros(50, 1, 4, 4), labels, batch_size=8, seed=0)
    list(loader)
    state = loader.state_dict()
    expected = [batch[1] for batch in loader]
    replay = TensorBatches(torch.zeros(50, 1, 4, 4), labels, batch_size=8, seed=0)
    replay.load_state_dict(state)
    assert all(torch.equal(a, b[1]) for a, b in zip(expected, replay))


def test_augmentation_crops_and_flips():
    images = torch.randn(64, 3, 8, 8)
    loader = TensorBatches(images, torch.arange(64), batch_size=64, seed=0, augment=True)
    augmented, order = next(iter(loader))
    assert augmented.shape == (64, 3, 8, 8)
    changed = [not torch.equal(augmented[i], images[label]) for i, label in enumerate(order.tolist())]
    assert sum(changed) > 48
    # Zero padding shows up as exact zeros at the border of shifted crops.
    assert (augmented == 0).any()


def test_token_batches_shift_targets():
    tokens = torch.arange(2 * 11)
    loader = TokenBatches(tokens, batch_size=2, bptt=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [inputs.shape[1] for inputs, _ in batches] == [4, 4, 2]
    first_inputs, first_targets = batches[0]
    assert first_inputs[1].tolist() == [11, 12, 13, 14]
    assert torch.equal(first_targets, first_inputs + 1)
    assert loader.num_tokens == 2 * 10


def test_token_batches_reject_short_stream():
    with pytest.raises(ValueError, match="too short"):
        TokenBatches(torch.arange(3), batch_size=2, bptt=4)


def test_language_objective_carries_state():
    from mlrsnet.models.language_model import LSTMLanguageModel

    torch.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=30, size=8, num_layers=2, dropout=0.0)
    tokens = torch.randint(0, 30, (4, 13))
    first, second = (tokens[:, :6], tokens[:, 1:7]), (tokens[:, 6:12], tokens[:, 7:13])
    objective = LanguageModelObjective()
    objective.start_epoch()
    objective.train_loss(model, first)
    carried = objective.train_loss(model, second)
    objective.start_epoch()
    fresh = objective.train_loss(model, second)
    assert carried.item() != pytest.approx(fresh.item())

    loss, perplexity = objective.evaluate(model, [first, second])
    assert perplexity == pytest.approx(math.exp(loss))
    assert loss == pytest.approx(math.log(30), rel=0.1)
