"""Tests of the built-in datasets, the loaders for on-disk layouts, splits and augmentation."""
