"""Rasters: reading, the tile grid, band choice, uploaded rasters."""
