"""Benchmarks: scripts that time one part of codecfake against a baseline on the same data, in the
same process, and print the ratio. Run them from the repository root as modules, so the tests'
data factories import as ``tests.helpers`` without editing ``sys.path``::

    python -m benchmarks.bench_eer
"""
