"""Queries over an embedded store: prompts, scoring and ranking, text search, similar tiles, zero-shot,
counting, vector layers."""
