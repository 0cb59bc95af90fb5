"""Training and benchmarks for RemoteCLIP models (data conversion, pretraining, evaluation).

Depends on backend's model code; backend never imports train.
"""
