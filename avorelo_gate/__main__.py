from __future__ import annotations

from avorelo_gate.main import main

if __name__ == "__main__":
    raise SystemExit(main())
