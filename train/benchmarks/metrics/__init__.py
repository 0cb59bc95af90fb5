"""Benchmark metrics, one module per task: pure functions on feature arrays returning percentages.

Every function takes L2-normalised ``N x D`` float features (as ``train.features`` writes them) and
integer labels, and returns plain Python floats in percent (0-100) so results serialise to JSON as is.
"""
