"""What the hooks use instead of a costly standard module gives that module's answers:
CPython's own SHA modules for hashlib's (files/digest.py), ``time`` for ``datetime`` in a
receipt's timestamp (receipts/build.py)."""
from __future__ import annotations

import datetime
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avorelo_gate.errors import BadInputError
from avorelo_gate.files import digest
from avorelo_gate.receipts.build import receipt_time


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_digests_are_hashlibs(data: bytes) -> None:
    assert digest.sha1(data).hexdigest() == hashlib.sha1(data).hexdigest()
    assert digest.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    h = digest.sha256()
    h.update(data)
    h.update(data)
    assert h.hexdigest() == hashlib.sha256(data + data).hexdigest()


def test_digests_do_not_load_openssl() -> None:
    """The reason for the module: CPython's builtin modules, not hashlib's OpenSSL ones."""
    assert digest.sha1.__module__ == "_sha1"
    assert digest.sha256.__module__ in ("_sha256", "_sha2")


def _datetime_stamp(value: str) -> str | None:
    try:
        stamp = datetime.datetime.fromtimestamp(int(value), datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


EDGES = ["0", "-1", "253402300799", "253402300800", "-62135596800", "-62135596801",
         "99999999999999999999", " 17 ", "1.5", "abc", "0x10"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(-(2**40), 2**40).map(str), st.sampled_from(EDGES)))
def test_a_pinned_receipt_time_is_datetimes(value: str) -> None:
    """SOURCE_DATE_EPOCH means what it meant with datetime: the same string, and the same
    values refused (exit 2), years 1 to 9999 on both sides."""
    expected = _datetime_stamp(value)
    if expected is None:
        with pytest.raises(BadInputError, match="SOURCE_DATE_EPOCH"):
            receipt_time({"SOURCE_DATE_EPOCH": value})
    else:
        assert receipt_time({"SOURCE_DATE_EPOCH": value}) == expected


def test_an_unpinned_receipt_time_is_now_in_utc() -> None:
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    stamp = datetime.datetime.strptime(receipt_time({}), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    after = datetime.datetime.now(datetime.timezone.utc)
    assert before <= stamp <= after
