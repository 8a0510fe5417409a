"""The Python example in docs/tasks.md runs as written, with small overrides."""

from __future__ import annotations

import re
from pathlib import Path

from mlrsnet.runs import MethodSpec, RunConfig, run_task

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tasks.md"


def test_tasks_python_example_runs(tmp_path, shared_data_dir):
    meta = run_task(RunConfig("digits-mlp", MethodSpec(meta_train=True), overrides={"epochs": 1}), tmp_path / "meta")
    code = re.search(r"## From Python.*?```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    code = code.replace('"DATA"', repr(str(shared_data_dir)))
    code = code.replace('"schedule.safetensors"', repr(str(meta.files["schedule"])))
    code = code.replace('overrides={"epochs": 2}', 'overrides={"epochs": 1, "train_limit": 500, "test_limit": 200}')

    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)

    assert 0.0 <= namespace["accuracy"] <= 1.0
    assert namespace["scheduler"].step_count == namespace["prepared"].total_steps
