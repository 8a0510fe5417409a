"""The schedule net: output range, state handling, layout and the released checkpoints."""

from __future__ import annotations

import json
import math

import pytest
import torch

from mlrsnet import MLRSNet, import_official, load_schedule, released_gamma
from mlrsnet.core.net import detach_state, stack_state, unstack_state
from mlrsnet.core.official import OFFICIAL_NAME_MAP


def test_output_lies_in_unit_interval():
    torch.manual_seed(0)
    net = MLRSNet()
    state = None
    for loss in [0.0, 1e-6, 2.3, 50.0, 1e4]:
        p, state = net(torch.tensor(loss), state)
        assert p.dim() == 0
        assert 0.0 < p.item() < 1.0


def test_state_changes_each_step_and_is_carried():
    torch.manual_seed(0)
    net = MLRSNet(hidden_size=8)
    p1, state1 = net(2.0)
    p2, state2 = net(2.0, state1)
    assert not torch.equal(state1[0][0], state2[0][0])
    p2_from_zero, _ = net(2.0)
    assert p2_from_zero.item() == p1.item()
    assert p2.item() != p1.item()


def test_batched_input_matches_single_steps():
    torch.manual_seed(0)
    net = MLRSNet(hidden_size=6, num_layers=2)
    losses = torch.tensor([0.5, 1.0, 3.0])
    p_batch, _ = net(losses, net.initial_state(batch_size=3))
    for i, loss in enumerate(losses):
        p_single, _ = net(loss)
        assert torch.allclose(p_batch[i], p_single)


def test_input_scale_divides_the_loss():
    torch.manual_seed(0)
    net = MLRSNet(hidden_size=8)
    scaled = MLRSNet(hidden_size=8, input_scale=math.log(10000))
    scaled.load_state_dict(net.state_dict())
    p_scaled, _ = scaled(9.21)
    p_plain, _ = net(9.21 / math.log(10000))
    assert torch.allclose(p_scaled, p_plain)


def test_stacked_layers_have_own_cells():
    net = MLRSNet(hidden_size=10, num_layers=3)
    assert len(net.cells) == 3
    assert net.cells[0].input_path[0].weight.shape == (5, 1)
    assert net.cells[1].input_path[0].weight.shape == (5, 10)
    state = net.initial_state()
    assert len(state) == 3
    _, new_state = net(1.0, state)
    assert len(new_state) == 3


def test_parameter_layout_matches_released_names():
    ours = MLRSNet().state_dict()
    released_shapes = {
        "layer1.fc_i2h.0.weight": (25, 1),
        "layer1.fc_i2h.0.bias": (25,),
        "layer1.fc_i2h.2.weight": (200, 25),
        "layer1.fc_i2h.2.bias": (200,),
        "layer1.fc_h2h.0.weight": (25, 50),
        "layer1.fc_h2h.0.bias": (25,),
        "layer1.fc_h2h.2.weight": (200, 25),
        "layer1.fc_h2h.2.bias": (200,),
        "layer3.weight": (1, 50),
        "layer3.bias": (1,),
    }
    assert len(ours) == len(released_shapes)
    for name, shape in released_shapes.items():
        prefix = next(old for old in OFFICIAL_NAME_MAP if name.startswith(old))
        our_name = OFFICIAL_NAME_MAP[prefix] + name[len(prefix) :]
        assert tuple(ours[our_name].shape) == shape, name


def test_state_pack_roundtrip_and_detach():
    net = MLRSNet(hidden_size=4, num_layers=2)
    _, state = net(1.5)
    packed = stack_state(state)
    assert packed.shape == (2, 2, 1, 4)
    restored = unstack_state(packed)
    for (h, c), (h2, c2) in zip(state, restored):
        assert torch.equal(h, h2)
        assert torch.equal(c, c2)
    assert all(not h.requires_grad and not c.requires_grad for h, c in detach_state(state))
    assert state[0][0].requires_grad


def test_wrong_state_length_raises():
    net = MLRSNet(hidden_size=4, num_layers=2)
    with pytest.raises(ValueError, match="state has 1 layers but the net has 2"):
        net(1.0, MLRSNet(hidden_size=4).initial_state())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden_size": 0}, "hidden_size"),
        ({"num_layers": 0}, "num_layers"),
        ({"input_scale": 0.0}, "input_scale"),
        ({"input_scale": float("nan")}, "input_scale"),
    ],
)
def test_invalid_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLRSNet(**kwargs)


def test_official_checkpoints_reproduce_expected_outputs(official_files, expected_outputs_path, tmp_path):
    expected = json.loads(expected_outputs_path.read_text())
    path = tmp_path / "official.safetensors"
    import_official(official_files, path)
    schedule = load_schedule(path)
    assert schedule.num_snapshots == 3
    for index, file in enumerate(official_files):
        reference = expected["outputs"][file.name]
        for dtype, tolerance in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
            net = schedule.build_net(index, dtype)
            state, outputs = None, []
            with torch.no_grad():
                for loss in expected["loss_sequence"]:
                    p, state = net(torch.tensor(loss, dtype=dtype), state)
                    outputs.append(p.item())
            error = max(abs(a - b) for a, b in zip(outputs, reference))
            assert error < tolerance, (file.name, dtype, error)


def test_released_gamma_matches_examples(expected_outputs_path):
    examples = json.loads(expected_outputs_path.read_text())["gamma_examples"]
    assert len(examples) >= 4
    for example in examples:
        gamma = released_gamma(example["initial_loss"], example["num_classes"])
        assert gamma == pytest.approx(example["gamma"], rel=1e-12)


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-6), (torch.float64, 1e-13)])
def test_predict_matches_forward(num_layers, dtype, tolerance):
    torch.manual_seed(num_layers)
    net = MLRSNet(hidden_size=10, num_layers=num_layers, input_scale=2.0).to(dtype)
    fast_state = slow_state = None
    for loss in [2.3, 1.7, 0.9, 0.4, 0.05, 3.0]:
        p_fast, fast_state = net.predict(loss, fast_state)
        with torch.no_grad():
            p_slow, slow_state = net(torch.tensor(loss, dtype=dtype), slow_state)
        assert p_fast == pytest.approx(p_slow.item(), rel=tolerance, abs=tolerance)
        for (h_fast, c_fast), (h_slow, c_slow) in zip(fast_state, slow_state):
            assert h_fast.shape == h_slow.shape
            assert torch.allclose(h_fast, h_slow, rtol=tolerance, atol=tolerance)
            assert torch.allclose(c_fast, c_slow, rtol=tolerance, atol=tolerance)


def test_predict_follows_parameter_changes():
    torch.manual_seed(0)
    net = MLRSNet(hidden_size=8)
    before, _ = net.predict(1.0)

    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    net(1.0)[0].backward()
    optimizer.step()
    after_step, _ = net.predict(1.0)
    with torch.no_grad():
        expected, _ = net(1.0)
    assert after_step != before
    assert after_step == pytest.approx(expected.item(), rel=1e-6)

    other = MLRSNet(hidden_size=8)
    net.load_state_dict(other.state_dict())
    assert net.predict(1.0)[0] == pytest.approx(other.predict(1.0)[0], rel=1e-6)

    net = net.double()
    with torch.no_grad():
        expected, _ = net(torch.tensor(1.0, dtype=torch.float64))
    assert net.predict(1.0)[0] == pytest.approx(expected.item(), rel=1e-13)


@pytest.mark.parametrize("change", ["fused_adam", "replace_parameter", "assign_load", "edit_data"])
def test_predict_sees_every_kind_of_update(change):
    torch.manual_seed(0)
    net = MLRSNet(hidden_size=8)
    before, _ = net.predict(1.0)
    if change == "fused_adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=0.1, fused=True)
        net(1.0)[0].backward()
        optimizer.step()
    elif change == "replace_parameter":
        net.readout.weight = torch.nn.Parameter(torch.ones(1, 8))
    elif change == "assign_load":
        net.load_state_dict(MLRSNet(hidden_size=8).state_dict(), assign=True)
    else:
        net.cells[0].hidden_path[2].bias.data.mul_(3.0)
    after, _ = net.predict(1.0)
    with torch.no_grad():
        expected, _ = net(1.0)
    assert after != before
    assert after == pytest.approx(expected.item(), rel=1e-6)


def test_predict_reproduces_official_outputs(official_files, expected_outputs_path):
    expected = json.loads(expected_outputs_path.read_text())
    schedule = import_official(official_files)
    for index, file in enumerate(official_files):
        net = schedule.build_net(index, torch.float64)
        state, outputs = None, []
        for loss in expected["loss_sequence"]:
            p, state = net.predict(loss, state)
            outputs.append(p)
        error = max(abs(a - b) for a, b in zip(outputs, expected["outputs"][file.name]))
        assert error < 1e-9, (file.name, error)
