"""Generator families, one subpackage each (``dtgan/gans/<family>/``).

A family owns its config section, networks, losses, training loop and checkpoint format, and writes its synthetic
images through :mod:`dtgan.synthesis.manifest` (one schema for every family), so `assemble`, `evaluate`, the
classifiers and `report` need no special case for it. See the README's architecture section for the three steps
to add one.
"""
