"""Data layer: sample tables, dataset indexers, the embedded generator, the image cache and the split."""
