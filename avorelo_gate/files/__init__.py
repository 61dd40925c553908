"""Leaf utilities for local files: crash-safe writes (``atomic``), inter-process locks
(``locking``), reading a file the user named (``inputs``) and the hooks' memo of what they
parsed (``memo``). Imports only ``errors`` and the package's version."""
