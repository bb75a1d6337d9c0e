"""DVC stage entry points: ``python -m stages.<name>``."""
