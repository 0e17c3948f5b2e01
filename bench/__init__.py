"""Benchmarks of the product update: the LMDB index against the in-memory designs it replaces.

``python -m bench.run --sizes 10000,100000,1000000`` generates a catalog per size, seeds a database with
day 1, then runs day 2 once per design, each in a fresh process (optionally under a memory cgroup), and
writes JSON, a markdown table and a plot. See docs/benchmarks.md.
"""
