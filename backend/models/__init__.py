"""Models: the registry (data), weights from the hub or files, loading, devices, the int8 path."""
