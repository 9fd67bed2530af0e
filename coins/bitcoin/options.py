"""Checks for the options a caller passes: unknown names and wrong types are refused.

A misspelt option that is silently ignored derives the wrong keys or signs with
a default the caller meant to change, so every option is checked by name and type.
"""

from __future__ import annotations

from typing import Any

from qsigner.errors import InputError

__all__ = ["check_options", "check_index", "option_bool", "option_int"]

MAX_INDEX = 0x7FFFFFFF


def check_options(options: dict[str, Any], allowed: frozenset[str]) -> None:
    """Refuse an option whose name is not in ``allowed``.

    Raises:
        InputError: names the first unknown option and lists the known ones.
    """
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(f"option {unknown[0]!r} is not known; known options: "
                         f"{', '.join(sorted(allowed))}", field=unknown[0])


def check_index(index: object, name: str = "index") -> int:
    """Return ``index`` if it is an int in 0..2^31-1.

    Raises:
        InputError: wrong type or out of range.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise InputError(f"{name}: must be an integer from 0 to {MAX_INDEX}", field=name)
    return index


def option_bool(options: dict[str, Any], name: str, default: bool = False) -> bool:
    """Return option ``name`` as a bool; only True/False are accepted.

    Raises:
        InputError: the value is not a bool.
    """
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise InputError(f"option {name!r}: must be True or False", field=name)
    return value


def option_int(options: dict[str, Any], name: str, default: int, *, minimum: int = 0) -> int:
    """Return option ``name`` as an int of at least ``minimum``.

    Raises:
        InputError: the value is not an int or is below ``minimum``.
    """
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"option {name!r}: must be an integer >= {minimum}", field=name)
    return value
