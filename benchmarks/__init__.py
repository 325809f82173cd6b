"""Benchmarks: the kit's training paths against the articles' PyTorch loop (see README.md).

Run ``python -m benchmarks`` (``--quick`` for a smoke run). PyTorch is an optional extra:
``pip install -e ".[bench]"``.
"""
