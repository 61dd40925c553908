"""SHA-1 and SHA-256 from CPython's own modules, not hashlib's OpenSSL.

``import hashlib`` loads OpenSSL's libcrypto first (~11M instructions, ~3 ms), and every
commit-msg hook and agent write hashes only a few kilobytes (a receipt's paths, a task file's
blob id, the staged diff's key). CPython builds its own SHA-1 and SHA-2 modules in
(``_sha1``; ``_sha256`` up to 3.11, ``_sha2`` from 3.12); a Python built without them falls
back to hashlib. Same digests either way.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha1, sha256
else:
    try:
        from _sha1 import sha1
    except ImportError:
        from hashlib import sha1
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # CPython 3.10, 3.11
        except ImportError:
            from hashlib import sha256

__all__ = ["sha1", "sha256"]
