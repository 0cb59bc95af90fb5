"""Conversion: Box-to-Caption, Mask-to-Box and open_clip training sets (CSV or webdataset shards)."""
