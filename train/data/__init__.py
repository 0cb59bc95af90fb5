"""Data: the shared data sets, scene sets (folder-per-class), detection/segmentation annotations and their
readers, class names."""
