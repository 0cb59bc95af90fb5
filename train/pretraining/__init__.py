"""Pretraining: open_clip's trainer driven from a config, checkpoint export, the project's small model recipe."""
