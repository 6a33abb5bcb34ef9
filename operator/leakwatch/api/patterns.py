"""User-supplied regexes, bounded.

Patterns run on RE2 (google-re2): matching is linear in the input, so no pattern a user writes can
make the operator backtrack for ever; the API server's CEL uses the same dialect, so what it
accepts we can run. Inputs are also cut to a bounded length before matching.
"""

from __future__ import annotations

from functools import lru_cache

import re2

MAX_REGEX_LENGTH = 256
MAX_SUBJECT_LENGTH = 1024

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is raised to the caller, not printed to stderr


class UserRegexError(ValueError):
    """A pattern RE2 refuses, or one that asks for more than one capture group."""


@lru_cache(maxsize=1024)
def compile_user_regex(pattern: str) -> re2._Regexp:
    if len(pattern) > MAX_REGEX_LENGTH:
        raise UserRegexError(f"regex is {len(pattern)} characters long; at most {MAX_REGEX_LENGTH} are allowed")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        raise UserRegexError(f"regex {pattern!r} is not a valid RE2 regular expression: {reason}") from err
    if compiled.groups > 1:
        raise UserRegexError(f"regex {pattern!r} has {compiled.groups} capture groups; use at most one (the version)")
    return compiled


def extract(pattern: str | None, value: str) -> str | None:
    """The first capture group (or the whole match) of `pattern` in `value`; None if no match."""
    if pattern is None:
        return value
    match = compile_user_regex(pattern).search(value[:MAX_SUBJECT_LENGTH])
    if match is None:
        return None
    found: str = match.group(1) if match.re.groups == 1 else match.group(0)
    return found
