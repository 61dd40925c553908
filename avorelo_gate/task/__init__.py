"""Declaring a task: what a change is judged by.

Strict YAML loading (``yamlio``) through one declared schema (``schema``); the repository
policy (``policy``); commit-message trailers parsed by git (``trailers``); gitignore-style
scope matching (``scope``); the task's context pins, tools and approvals (``context``,
``approvals``); and how the sources combine into one resolved task (``declare``).
``validate`` checks the files at rest. May import ``git``, ``files``, ``errors``, ``result``."""
