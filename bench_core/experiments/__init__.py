"""Experiments built on the library: the presets of ``kmbench reproduce`` and the
robustness table. They use the registry, the runner and the reports; nothing in the
library imports them."""
