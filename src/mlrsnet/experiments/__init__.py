"""Experiments built on the library: the demo, its tables and its figures."""

from mlrsnet.experiments.demo import DemoConfig, DemoResult, run_demo

__all__ = ["DemoConfig", "DemoResult", "run_demo"]
