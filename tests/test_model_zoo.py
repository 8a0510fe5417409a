import pytest
import torch
import torch.nn.functional as F

from mlrsnet.models.language_model import LSTMLanguageModel, detach_hidden
from mlrsnet.models.mobilenet import MobileNetV2
from mlrsnet.models.registry import IMAGE_MODELS, build_image_model, build_language_model
from mlrsnet.models.resnet import BasicBlock, ResNet, resnet18, resnet34, resnet50
from mlrsnet.models.shufflenet import ShuffleNetV2, channel_shuffle
from mlrsnet.models.wide_resnet import WideResNet, wide_resnet28_10

# The smallest width of each model, to keep forward and backward passes fast on one thread.
SMALL_WIDTH = {
    "mlp": 16,
    "cnn": 4,
    "resnet18": 4,
    "resnet34": 4,
    "resnet50": 4,
    "wrn28-10": 1,
    "shufflenetv2": 0.5,
    "mobilenetv2": 0.25,
}
INPUT_SHAPES = [(3, 32, 32), (1, 28, 28), (1, 8, 8)]


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def test_registry_lists_every_image_model():
    assert set(IMAGE_MODELS) == set(SMALL_WIDTH)


@pytest.mark.parametrize("input_shape", INPUT_SHAPES, ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("name", sorted(SMALL_WIDTH))
def test_image_model_forward_backward(name, input_shape):
    torch.manual_seed(0)
    model = build_image_model(name, num_classes=7, input_shape=input_shape, width=SMALL_WIDTH[name])
    # A batch of 4, not 2, because BatchNorm over two samples at 1x1 resolution outputs about
    # +-1 whatever its input, so the layers before it get gradients hundreds of times smaller.
    inputs = torch.randn(4, *input_shape)

    logits = model(inputs)
    F.cross_entropy(logits, torch.arange(4) % 7).backward()

    assert logits.shape == (4, 7)
    assert torch.isfinite(logits).all()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name
        if parameter.ndim >= 2:
            # Conv and linear weights. With seed 0 the smallest maximum here is about 1e-2.
            assert parameter.grad.abs().max() > 1e-4, parameter_name
        elif parameter_name.endswith("weight"):
            assert parameter.grad.any(), parameter_name
        # Biases get no size check: in MobileNetV2 and ShuffleNetV2 a BatchNorm bias followed by
        # a 1x1 conv and another BatchNorm has a zero gradient up to rounding, because the next
        # BatchNorm removes any constant shift of its input.


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (resnet18, 11_173_962),
        (resnet34, 21_282_122),
        (resnet50, 23_520_842),
        (wide_resnet28_10, 36_479_194),
        (MobileNetV2, 2_236_682),
        (ShuffleNetV2, 1_263_854),
    ],
    ids=["resnet18", "resnet34", "resnet50", "wrn28-10", "mobilenetv2", "shufflenetv2"],
)
def test_full_width_parameter_counts(factory, expected):
    count = count_parameters(factory(10))

    assert count == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(
    ("multiplier", "expected"),
    [(0.5, 352_042), (1.5, 2_488_874), (2.0, 5_365_486)],
)
def test_shufflenet_multiplier_parameter_counts(multiplier, expected):
    model = ShuffleNetV2(10, width_multiplier=multiplier)

    assert count_parameters(model) == pytest.approx(expected, rel=1e-3)


def test_shufflenet_last_conv_widths():
    assert ShuffleNetV2(10, width_multiplier=1.0).head.in_features == 1024
    assert ShuffleNetV2(10, width_multiplier=2.0).head.in_features == 2048


def test_cifar_models_downsample_32_to_4():
    inputs = torch.randn(2, 3, 32, 32)
    resnet = resnet18(10, base_width=4)
    mobilenet = MobileNetV2(10, width_multiplier=0.25)
    shufflenet = ShuffleNetV2(10, width_multiplier=0.5)
    wide_resnet = WideResNet(depth=10, widen_factor=1)

    assert resnet.stages(resnet.stem(inputs)).shape[-2:] == (4, 4)
    assert mobilenet.features(inputs).shape[-2:] == (4, 4)
    assert shufflenet.last_conv(shufflenet.stages(shufflenet.stem(inputs))).shape[-2:] == (4, 4)
    assert wide_resnet.stages(wide_resnet.stem(inputs)).shape[-2:] == (8, 8)


def test_resnet_projection_only_where_shape_changes():
    model = resnet18(10, base_width=8)
    projections = [
        block for stage in model.stages for block in stage if not isinstance(block.shortcut, torch.nn.Identity)
    ]

    # The first block of stages 2, 3 and 4 halves the size and doubles the channels.
    assert len(projections) == 3
    assert [block.shortcut[0].stride for block in projections] == [(2, 2)] * 3


def test_resnet50_ends_with_expanded_channels():
    assert resnet50(10, base_width=8).head.in_features == 8 * 8 * 4


def test_wide_resnet_stage_widths():
    model = WideResNet(depth=16, widen_factor=2, num_classes=3, in_channels=1)
    first_convs = [stage[0].conv1.out_channels for stage in model.stages]

    assert model.stem.out_channels == 16
    assert first_convs == [32, 64, 128]
    assert [len(stage) for stage in model.stages] == [2, 2, 2]


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)

    shuffled = channel_shuffle(x, 2).flatten().tolist()

    assert shuffled == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: WideResNet(depth=27), "depth"),
        (lambda: WideResNet(depth=4), "depth"),
        (lambda: WideResNet(dropout=1.0), "dropout"),
        (lambda: WideResNet(widen_factor=0), "widen_factor"),
        (lambda: ShuffleNetV2(10, width_multiplier=0.75), "width_multiplier"),
        (lambda: MobileNetV2(10, width_multiplier=0.0), "width_multiplier"),
        (lambda: ResNet(BasicBlock, (2, 2, 2), 10), "blocks_per_stage"),
        (lambda: resnet18(10, base_width=0), "base_width"),
        (lambda: resnet34(0), "num_classes"),
    ],
)
def test_invalid_image_model_arguments_raise(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_lstm_output_and_hidden_shapes():
    model = LSTMLanguageModel(vocab_size=30, size=8, num_layers=3)
    tokens = torch.randint(0, 30, (4, 5))

    logits, (h, c) = model(tokens)

    assert logits.shape == (4, 5, 30)
    assert h.shape == (3, 4, 8)
    assert c.shape == (3, 4, 8)


def test_lstm_weights_are_tied():
    model = LSTMLanguageModel(vocab_size=30, size=8)

    assert model.decoder.weight is model.embedding.weight
    # The shared tensor counts once among the parameters.
    assert sum(1 for p in model.parameters() if p is model.embedding.weight) == 1


def test_lstm_uniform_init_and_zero_bias():
    torch.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=500, size=32)
    weight = model.embedding.weight

    assert weight.abs().max() <= 0.1
    assert weight.max() > 0.099
    assert weight.min() < -0.099
    assert torch.equal(model.decoder.bias, torch.zeros(500))


def test_lstm_hidden_state_carries_over_chunks():
    torch.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=20, size=8, num_layers=2).eval()
    tokens = torch.randint(0, 20, (3, 10))

    whole, _ = model(tokens)
    first, hidden = model(tokens[:, :6])
    second, _ = model(tokens[:, 6:], detach_hidden(hidden))
    restarted, _ = model(tokens[:, 6:])

    torch.testing.assert_close(torch.cat((first, second), dim=1), whole)
    assert not torch.allclose(restarted, whole[:, 6:])


def test_detach_hidden_cuts_graph_keeps_values():
    model = LSTMLanguageModel(vocab_size=20, size=8)
    _, hidden = model(torch.randint(0, 20, (2, 4)))

    detached = LSTMLanguageModel.detach_hidden(hidden)

    assert all(state.grad_fn is not None for state in hidden)
    assert all(state.grad_fn is None for state in detached)
    assert not any(state.requires_grad for state in detached)
    for original, copy in zip(hidden, detached):
        assert torch.equal(original, copy)


def test_lstm_init_hidden_zeros_on_model_dtype():
    model = LSTMLanguageModel(vocab_size=20, size=8, num_layers=2).double()

    h, c = model.init_hidden(5)

    assert h.shape == (2, 5, 8)
    assert c.shape == (2, 5, 8)
    assert h.dtype == torch.float64
    assert c.dtype == torch.float64
    assert not h.any()
    assert not c.any()


def test_lstm_dropout_only_in_training():
    torch.manual_seed(0)
    model = LSTMLanguageModel(vocab_size=20, size=16, num_layers=2, dropout=0.5)
    tokens = torch.randint(0, 20, (2, 6))

    train_a, _ = model(tokens)
    train_b, _ = model(tokens)
    model.eval()
    eval_a, _ = model(tokens)
    eval_b, _ = model(tokens)

    assert not torch.equal(train_a, train_b)
    assert torch.equal(eval_a, eval_b)


def test_lstm_sgd_lowers_loss_on_repeated_sequence():
    torch.manual_seed(0)
    vocab = 8
    model = LSTMLanguageModel(vocab_size=vocab, size=16, num_layers=2, dropout=0.0)
    sequence = torch.arange(vocab).repeat(3).unsqueeze(0)
    inputs, targets = sequence[:, :-1], sequence[:, 1:]
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)

    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        losses.append(loss.item())

    assert losses[0] == pytest.approx(torch.log(torch.tensor(float(vocab))).item(), abs=0.1)
    assert losses[-1] < 0.25 * losses[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 0, "size": 8}, "vocab_size"),
        ({"vocab_size": 10, "size": 0}, "size"),
        ({"vocab_size": 10, "size": 8, "num_layers": 0}, "num_layers"),
        ({"vocab_size": 10, "size": 8, "dropout": 1.0}, "dropout"),
        ({"vocab_size": 10, "size": 8, "dropout": -0.1}, "dropout"),
    ],
)
def test_invalid_lstm_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTMLanguageModel(**kwargs)


def test_lstm_rejects_one_dimensional_tokens():
    model = LSTMLanguageModel(vocab_size=10, size=4)

    with pytest.raises(ValueError, match="batch, seq"):
        model(torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize(
    ("name", "width", "check"),
    [
        ("mlp", 32, lambda m: [layer.out_features for layer in m.layers[1::2]] == [32, 16, 10]),
        ("cnn", 6, lambda m: m.head.in_features == 12),
        ("resnet18", 8, lambda m: m.stem[0].out_channels == 8),
        ("wrn28-10", 2, lambda m: m.head.in_features == 128),
        ("shufflenetv2", 1.5, lambda m: m.stages[0][0].main_branch[0][0].out_channels == 88),
        ("mobilenetv2", 0.5, lambda m: m.features[0][0].out_channels == 16),
    ],
)
def test_registry_width_sets_model_width(name, width, check):
    model = build_image_model(name, num_classes=10, input_shape=(1, 8, 8), width=width)

    assert check(model)


def test_registry_default_widths_are_full_size():
    assert count_parameters(build_image_model("resnet18", 10, (3, 32, 32))) == 11_173_962
    assert build_image_model("wrn28-10", 10, (3, 32, 32)).head.in_features == 640


def test_registry_passes_own_width_argument_and_dropout():
    model = build_image_model("wrn28-10", 10, (1, 8, 8), widen_factor=1, dropout=0.3)

    assert model.head.in_features == 64
    assert model.stages[0][0].dropout.p == 0.3


def test_registry_uses_input_channels():
    model = build_image_model("resnet18", 10, (1, 28, 28), width=4)

    assert model.stem[0].in_channels == 1


def test_registry_unknown_name_lists_names():
    with pytest.raises(ValueError, match="resnet18") as error:
        build_image_model("resnet19", 10, (3, 32, 32))

    assert "resnet19" in str(error.value)
    assert "mobilenetv2" in str(error.value)


def test_registry_unknown_option_names_valid_ones():
    with pytest.raises(TypeError, match="'dropout'") as error:
        build_image_model("resnet18", 10, (3, 32, 32), dropout=0.1)

    assert "base_width" in str(error.value)
    assert "width" in str(error.value)


def test_registry_rejects_width_with_own_argument():
    with pytest.raises(TypeError, match="base_width"):
        build_image_model("resnet18", 10, (3, 32, 32), width=8, base_width=8)


def test_registry_rejects_bad_input_shape():
    with pytest.raises(ValueError, match="input_shape"):
        build_image_model("cnn", 10, (28, 28))


def test_build_language_model_ties_weights():
    model = build_language_model(vocab_size=50, size=12, num_layers=1, dropout=0.2)

    assert isinstance(model, LSTMLanguageModel)
    assert model.decoder.weight is model.embedding.weight
    assert model.lstm.num_layers == 1
    assert model.dropout.p == 0.2
