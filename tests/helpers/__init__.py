"""Test fixtures shared by several test modules and the benchmarks: factories of
releases, corpora, audio and a local Hub server."""
