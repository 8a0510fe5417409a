"""The comparison benchmark: every method on every task of a suite, with tables and figures.

    from mlrsnet.experiments.benchmark import get_suite, run_benchmark

    outcome = run_benchmark(get_suite("quick"), "bench-quick", seeds=1, data_dir="../shared/data")
    print(outcome.files["tables"].read_text())
"""

from mlrsnet.experiments.benchmark.plan import PlannedRun, method_names, plan_runs
from mlrsnet.experiments.benchmark.runner import BenchmarkError, BenchmarkOutcome, run_benchmark
from mlrsnet.experiments.benchmark.suites import SUITES, Suite, SuiteTask, get_suite

__all__ = [
    "SUITES",
    "BenchmarkError",
    "BenchmarkOutcome",
    "PlannedRun",
    "Suite",
    "SuiteTask",
    "get_suite",
    "method_names",
    "plan_runs",
    "run_benchmark",
]
