"""The README's "Guarantees" section quotes the counts the hardening suite actually runs."""
from __future__ import annotations

import re

import hardening_settings as hs
import pytest
import test_hardening_config
import test_hardening_files
import test_hardening_fuzz
from test_readme import section


def number(text: str, pattern: str) -> int:
    found = re.search(pattern, " ".join(text.split()))
    assert found, f"README 'Guarantees' no longer says {pattern!r}"
    return int(found.group(1).replace(",", ""))


@pytest.mark.skipif(hs.SCALE != 1, reason="the README quotes the default counts")
def test_guarantees_quote_the_counts_the_suite_runs() -> None:
    text = section("Guarantees")
    properties = [name for name in dir(test_hardening_fuzz)
                  if name.startswith("test_") and getattr(
                      getattr(test_hardening_fuzz, name), "is_hypothesis_test", False)]
    assert number(text, r"(\d+) hypothesis properties") == len(properties)
    assert number(text, r"(\d+) examples each") == hs.FUZZ_EXAMPLES
    assert number(text, r"(\d+) settings") == len(test_hardening_config.HOSTILE)
    assert number(text, r"(\d+) YAML files") == len(test_hardening_files.HOSTILE_YAML)
    assert number(text, r"(\d+) JUnit reports") == len(test_hardening_files.HOSTILE_JUNIT)
    assert number(text, r"(\d+) concurrent writers") == hs.WRITERS
    assert number(text, r"x (\d+) pending receipts") == hs.RECORDS_PER_WRITER
    assert number(text, r"(\d+) x \d+ proof records") == hs.WRITERS
    assert number(text, r"\d+ x (\d+) proof records") == hs.RECORDS_PER_WRITER
    assert number(text, r"(\d+) SIGKILLs") == hs.KILLS_PER_COMMAND
