"""Benchmark harness for the orders report engine (`make bench`).

Kept import-free on purpose: `python -m benchmarks._measure` imports this package in the
process whose children are measured, and it must stay small.
"""
