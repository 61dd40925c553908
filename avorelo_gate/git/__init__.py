"""The only door to git: running it (``process``), reading its bytes as paths (``paths``), the
repository and what can be asked of it (``repo`` over ``revisions``, ``objects``, ``diff``,
``refs``), the change under check (``change``) and where task and policy files are read from
(``snapshot``). Imports nothing of the package but ``errors`` and ``result``."""
