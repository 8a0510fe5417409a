import pytest
import torch

from mlrsnet.models import MLP, SmallCNN


@pytest.mark.parametrize("input_shape", [(1, 8, 8), (1, 28, 28)])
def test_mlp_forward_backward_shapes(input_shape):
    model = MLP(input_shape, num_classes=10)
    inputs = torch.randn(5, *input_shape)

    logits = model(inputs)
    logits.sum().backward()

    assert logits.shape == (5, 10)
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_mlp_hidden_sizes_set_layers():
    model = MLP((1, 8, 8), num_classes=3, hidden_sizes=(32,))
    linear_shapes = [tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)]

    assert linear_shapes == [(32, 64), (3, 32)]


def test_mlp_without_hidden_layers_is_linear():
    model = MLP((2, 3), num_classes=4, hidden_sizes=())
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]

    assert len(linears) == 1
    assert tuple(linears[0].weight.shape) == (4, 6)


@pytest.mark.parametrize(("in_channels", "size"), [(1, 8), (1, 28), (3, 32), (1, 1)])
def test_cnn_forward_backward_shapes(in_channels, size):
    torch.manual_seed(0)
    model = SmallCNN(in_channels, num_classes=10, width=8)
    inputs = torch.randn(4, in_channels, size, size)

    logits = model(inputs)
    logits.sum().backward()

    assert logits.shape == (4, 10)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_cnn_has_batch_norm_and_width():
    model = SmallCNN(1, num_classes=10, width=4)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    assert [m.num_features for m in norms] == [4, 8, 8]
    assert model.head.in_features == 8


def test_cnn_eval_mode_is_deterministic():
    model = SmallCNN(1, num_classes=10).eval()
    inputs = torch.randn(2, 1, 8, 8)

    assert torch.equal(model(inputs), model(inputs))


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: MLP((1, 0, 8), 10), "input_shape"),
        (lambda: MLP((1, 8, 8), 0), "num_classes"),
        (lambda: MLP((1, 8, 8), 10, hidden_sizes=(16, 0)), "hidden_sizes"),
        (lambda: SmallCNN(0, 10), "in_channels"),
        (lambda: SmallCNN(1, 10, width=0), "width"),
    ],
)
def test_invalid_model_arguments_raise(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
