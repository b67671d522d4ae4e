"""Benchmarks of the Payments API (`make bench`, `python -m bench`).

Every number is a ratio of two things measured side by side in the same run, against the same
backend, interleaved: the function next to the floor it cannot beat. Nothing here asserts; it reports.
"""
