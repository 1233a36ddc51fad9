"""Benchmarks of the course's moving parts; run them with `make bench` (see README.md)."""
