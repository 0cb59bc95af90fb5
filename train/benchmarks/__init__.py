"""Benchmarks: cached features, zero-shot / linear probe / k-NN / few-shot / retrieval / counting metrics, the
paper-style table."""
