"""Schedule files: round trip, metadata, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import json
import os

import pytest
import torch
from safetensors.torch import save_file

from mlrsnet import MLRSNet, Schedule, ScheduleFileError, __version__, import_official, load_schedule


def _schedule(hidden_size=6, num_layers=1, num_snapshots=3):
    snapshots = []
    for index in range(num_snapshots):
        torch.manual_seed(index)
        snapshots.append(MLRSNet(hidden_size=hidden_size, num_layers=num_layers).state_dict())
    return Schedule(snapshots=snapshots, hidden_size=hidden_size, num_layers=num_layers, input_scale=2.5,
                    meta_trained_on={"dataset": "digits", "model": "MLP", "epochs": 30})


def _write_raw(path, tensors, meta):
    save_file(tensors, str(path), metadata={"format": "mlrsnet-schedule", "mlrsnet": json.dumps(meta)})


def _valid_meta(num_snapshots=1, hidden_size=6):
    return {"format_version": 1, "architecture": {"name": "MLRSNet", "hidden_size": hidden_size, "num_layers": 1},
            "input_scale": 1.0, "num_snapshots": num_snapshots, "switch_points": [0.0]}


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    schedule = _schedule(num_layers=2)
    path = schedule.save(tmp_path / "nested" / "schedule.safetensors")
    loaded = load_schedule(path)
    assert loaded.num_snapshots == 3
    assert (loaded.hidden_size, loaded.num_layers, loaded.input_scale) == (6, 2, 2.5)
    assert loaded.switch_points == [0.0, 1 / 3, 2 / 3]
    assert loaded.meta_trained_on == {"dataset": "digits", "model": "MLP", "epochs": 30}
    assert loaded.library_version == __version__
    assert "ln(f0 * C)" in loaded.gamma_rule
    assert loaded.fingerprint() == schedule.fingerprint()
    for original, restored in zip(schedule.snapshots, loaded.snapshots):
        assert original.keys() == restored.keys()
        for name in original:
            assert torch.equal(original[name], restored[name])
    net = loaded.build_net(1)
    assert net.input_scale == 2.5


def test_file_is_safetensors_with_json_metadata(tmp_path):
    path = _schedule().save(tmp_path / "s.safetensors")
    with open(path, "rb") as handle:
        header_length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(header_length))
    meta = json.loads(header["__metadata__"]["mlrsnet"])
    assert header["__metadata__"]["format"] == "mlrsnet-schedule"
    assert set(meta) >= {"architecture", "input_scale", "gamma_rule", "switch_points", "meta_trained_on",
                         "library_version", "format_version", "num_snapshots"}
    assert "snapshot.2.readout.weight" in header


def test_save_leaves_no_temporary_files(tmp_path):
    _schedule().save(tmp_path / "s.safetensors")
    _schedule(hidden_size=4).save(tmp_path / "s.safetensors")  # overwrite in place
    assert os.listdir(tmp_path) == ["s.safetensors"]
    assert load_schedule(tmp_path / "s.safetensors").hidden_size == 4


def test_failed_save_keeps_nothing_half_written(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a directory where the file should go: the final rename fails
    with pytest.raises(OSError):
        _schedule().save(target)
    assert os.listdir(tmp_path) == ["taken"]
    assert os.listdir(target) == []


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="schedule file not found: .*absent.safetensors"):
        load_schedule(tmp_path / "absent.safetensors")


def test_truncated_file_names_path(tmp_path):
    path = _schedule().save(tmp_path / "s.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ScheduleFileError, match=r"s\.safetensors: not a valid safetensors schedule file"):
        load_schedule(path)


def test_random_bytes_rejected(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(300))
    with pytest.raises(ScheduleFileError, match="noise.safetensors"):
        load_schedule(path)


def test_torch_save_file_points_to_import(tmp_path):
    path = tmp_path / "net.pth"
    torch.save(MLRSNet().state_dict(), path)
    with pytest.raises(ScheduleFileError, match="import-official"):
        load_schedule(path)


def test_safetensors_without_schedule_metadata(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(path))
    with pytest.raises(ScheduleFileError, match="plain.safetensors: a safetensors file, but not an mlrsnet schedule"):
        load_schedule(path)


def test_mismatched_shapes_named(tmp_path):
    tensors = {f"snapshot.0.{name}": value for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    tensors["snapshot.0.readout.weight"] = torch.zeros(1, 7)
    path = tmp_path / "shapes.safetensors"
    _write_raw(path, tensors, _valid_meta())
    with pytest.raises(ScheduleFileError, match=r"shapes.safetensors: snapshot 0: readout.weight has shape \(1, 7\)"):
        load_schedule(path)


def test_missing_tensor_named(tmp_path):
    tensors = {f"snapshot.0.{name}": value for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    del tensors["snapshot.0.readout.bias"]
    path = tmp_path / "missing.safetensors"
    _write_raw(path, tensors, _valid_meta())
    with pytest.raises(ScheduleFileError, match=r"missing \['readout.bias'\]"):
        load_schedule(path)


def test_wrong_snapshot_count_named(tmp_path):
    tensors = {f"snapshot.1.{name}": value for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    path = tmp_path / "count.safetensors"
    _write_raw(path, tensors, _valid_meta(num_snapshots=1))
    with pytest.raises(ScheduleFileError, match="unexpected tensor 'snapshot.1"):
        load_schedule(path)


def test_non_finite_weights_rejected(tmp_path):
    tensors = {f"snapshot.0.{name}": value.clone() for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    tensors["snapshot.0.readout.bias"][0] = float("nan")
    path = tmp_path / "nan.safetensors"
    _write_raw(path, tensors, _valid_meta())
    with pytest.raises(ScheduleFileError, match="readout.bias contains NaN"):
        load_schedule(path)


def test_invalid_metadata_json(tmp_path):
    path = tmp_path / "meta.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": "mlrsnet-schedule", "mlrsnet": "{not json"})
    with pytest.raises(ScheduleFileError, match="meta.safetensors: the schedule metadata is invalid"):
        load_schedule(path)


def test_newer_format_version(tmp_path):
    tensors = {f"snapshot.0.{name}": value for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    meta = _valid_meta()
    meta["format_version"] = 99
    path = tmp_path / "future.safetensors"
    _write_raw(path, tensors, meta)
    with pytest.raises(ScheduleFileError, match="version 99 is newer"):
        load_schedule(path)


def test_invalid_switch_points_rejected():
    snapshots = [MLRSNet(hidden_size=4).state_dict()] * 2
    with pytest.raises(ValueError, match="switch points"):
        Schedule(snapshots=snapshots, hidden_size=4, switch_points=[0.0, 1.2])
    with pytest.raises(ValueError, match="2 switch points given for 1 snapshots"):
        Schedule(snapshots=snapshots[:1], hidden_size=4, switch_points=[0.0, 0.5])


def test_snapshot_index_by_fraction():
    schedule = _schedule()
    assert [schedule.snapshot_index(f) for f in (0.0, 0.33, 1 / 3, 0.9, 1.0, 5.0)] == [0, 0, 1, 2, 2, 2]


def test_import_official_rejects_other_checkpoints(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ScheduleFileError, match="unexpected key 'encoder.weight'"):
        import_official([path])
    wrong_shape = tmp_path / "wide.pth"
    state = {key.replace("cells.0.input_path.", "layer1.fc_i2h.").replace("cells.0.hidden_path.", "layer1.fc_h2h.")
             .replace("readout.", "layer3."): value for key, value in MLRSNet(hidden_size=8).state_dict().items()}
    torch.save(state, wrong_shape)
    with pytest.raises(ScheduleFileError, match="do not form a schedule"):
        import_official([wrong_shape])


def test_import_official_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"layer3.bias": torch.zeros(1), "payload": os.getcwd}, path)
    with pytest.raises(ScheduleFileError, match="weights_only=True"):
        import_official([path])


def test_saved_file_permissions_follow_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = _schedule().save(tmp_path / "s.safetensors")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "change, message",
    [
        ({"switch_points": 5}, "switch points must be a list of numbers"),
        ({"switch_points": [0, None]}, "switch points must be a list of numbers"),
        ({"num_snapshots": 2, "switch_points": [0.0, float("nan")]}, "metadata lists 2 snapshots"),
        ({"meta_trained_on": [1, 2]}, "meta_trained_on must be a dict"),
        ({"num_snapshots": 10**10}, "metadata lists 10000000000 snapshots"),
        ({"architecture": {"name": "MLRSNet", "hidden_size": 200000, "num_layers": 1}}, "has shape"),
        ({"architecture": {"name": "MLRSNet", "hidden_size": 6.7, "num_layers": 1}}, "hidden_size must be an integer"),
        ({"format_version": -3}, "format_version must be an integer >= 1"),
        ({"num_snapshots": True}, "num_snapshots must be an integer"),
    ],
)
def test_malformed_metadata_raises_schedule_file_error(tmp_path, change, message):
    tensors = {f"snapshot.0.{name}": value for name, value in MLRSNet(hidden_size=6).state_dict().items()}
    meta = _valid_meta()
    meta.update(change)
    path = tmp_path / "odd.safetensors"
    _write_raw(path, tensors, meta)
    with pytest.raises(ScheduleFileError, match=rf"odd\.safetensors: .*{message}"):
        load_schedule(path)


def test_nan_switch_point_rejected():
    snapshots = [MLRSNet(hidden_size=4).state_dict()] * 2
    with pytest.raises(ValueError, match="switch points must start at 0"):
        Schedule(snapshots=snapshots, hidden_size=4, switch_points=[0.0, float("nan")])


def test_import_official_rejects_non_string_keys(tmp_path):
    path = tmp_path / "numbers.pth"
    torch.save({1: torch.zeros(1)}, path)
    with pytest.raises(ScheduleFileError, match="unexpected key 1"):
        import_official([path])
