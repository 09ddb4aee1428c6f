"""Scale benchmarks of the dashboard: ``python -m benchmarks`` (see docs/benchmarks.md).

Every figure is measured together with a baseline in the same run and reported as a ratio to it,
because the machine is shared and absolute timings drift with its load.
"""
