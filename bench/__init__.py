"""Benchmarks: `python -m bench` prints asl-engine's speed tables (see bench/README.md).

Owns: measuring interpreter throughput (ours and moto's, side by side), memory per waiting
execution, whole-process CLI time and validation time. Must never: be imported by engine/ or
api/, or assert speed in tests (tests only check the tables come out).
"""
