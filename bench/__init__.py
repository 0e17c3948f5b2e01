"""Benchmarks of the product update: the LMDB index against the other designs of tier 1.

``python -m bench.run --quick`` (or the full mode without it) generates a catalog per size, seeds a
database with day 1, then runs days 2.. per design, repeated and interleaved, each step in a fresh
process, checks that every design wrote the same catalog, and writes one JSON, markdown tables and a
plot. See docs/benchmarks.md.
"""
