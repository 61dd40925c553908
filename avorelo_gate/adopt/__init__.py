"""Adopting the gate: ``install`` (``init`` and the plain git hooks) and the ``demo`` on a
throwaway repository (``demo_repo``, ``demo_steps``). May import ``task``, ``git``, ``files``."""
