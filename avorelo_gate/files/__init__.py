"""Leaf utilities for local files: crash-safe writes (``atomic``), inter-process locks
(``locking``) and reading a file the user named (``inputs``). Imports only ``errors``."""
