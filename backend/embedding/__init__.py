"""Embedding: the tile pipeline, preprocessing, stores, checkpoints, the cost model, torchrun ranks."""
