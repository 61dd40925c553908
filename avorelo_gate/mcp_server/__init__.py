"""``avorelo-gate mcp``: the gate's commands as Model Context Protocol tools on stdio, built on
the official ``mcp`` SDK (the optional extra ``avorelo-gate[mcp]``). Named so that it never
shadows the SDK's own ``mcp`` package; nothing on the hook path imports it."""
