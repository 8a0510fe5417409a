"""The Python examples in docs/tasks.md and docs/benchmarks.md run as written, with small overrides."""

from __future__ import annotations

import re
from pathlib import Path

from mlrsnet.runs import MethodSpec, RunConfig, run_task

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tasks.md"


def _python_blocks() -> list[str]:
    section = DOCS.read_text(encoding="utf-8").split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_tasks_python_examples_run(tmp_path, shared_data_dir, monkeypatch):
    meta = run_task(RunConfig("digits-mlp", MethodSpec(meta_train=True), overrides={"epochs": 1}), tmp_path / "meta")
    loop_example, run_example = _python_blocks()
    monkeypatch.chdir(tmp_path)

    code = loop_example.replace('"DATA"', repr(str(shared_data_dir)))
    code = code.replace('"schedule.safetensors"', repr(str(meta.files["schedule"])))
    code = code.replace('overrides={"epochs": 2}', 'overrides={"epochs": 1, "train_limit": 500, "test_limit": 200}')
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    assert 0.0 <= namespace["accuracy"] <= 1.0
    assert namespace["scheduler"].step_count == namespace["prepared"].total_steps

    code = run_example.replace('"schedule.safetensors"', repr(str(meta.files["schedule"])))
    code = code.replace('budget="cpu", seed=1', 'budget="cpu", seed=1, overrides={"epochs": 1}')
    namespace = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    assert namespace["outcome"].result.metric == "accuracy"
    assert (tmp_path / "runs" / "digits-cnn-seed1" / "metrics.json").exists()


def test_benchmark_python_example_runs(tmp_path, monkeypatch):
    page = (DOCS.parent / "benchmarks.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", page, re.S)
    monkeypatch.chdir(tmp_path)

    code = example.replace('{"epochs": 10}', '{"epochs": 2}').replace("seeds=2", "seeds=1")
    namespace: dict = {}
    exec(compile(code, "docs/benchmarks.md", "exec"), namespace)
    outcome = namespace["outcome"]
    assert outcome.count("finished") == outcome.total == 2 * 5
    assert "### digits-cnn" in (tmp_path / "bench-mine" / "tables.md").read_text()
