"""Experiments built on the library: the demo and the comparison benchmark.

The demo's names load on first use, so that importing the benchmark (as its worker
processes do) skips the demo's scikit-learn import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoConfig", "DemoResult", "run_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlrsnet.experiments import demo

        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
