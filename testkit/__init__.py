"""What the tests and the benchmarks both build on: where the shared fixtures live, and factories
of releases, corpora and speech. A development package: not installed, imported from the
repository root (pytest puts it on the path; benchmarks run as ``python -m benchmarks.NAME``).
"""
