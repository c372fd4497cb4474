"""Argument helpers of the ``rlbasics`` command: a parser whose errors are one line, help that
lists a config dataclass's fields with their documentation, and typed argument checks."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import math
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "COUNT",
    "POSITIVE_INT",
    "Parser",
    "check_png",
    "config_help",
    "field_docs",
    "number",
    "show_warning",
]


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error, and an epilog computed only when help is shown."""

    def __init__(self, *args: Any, epilog_factory: Callable[[], str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_factory = epilog_factory

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        if self.epilog_factory is not None:
            self.epilog = self.epilog_factory()
        return super().format_help()


def field_docs(cls: type) -> dict[str, str]:
    """The documentation of each field of a dataclass: the string literal after the field
    (an attribute docstring), else its entry in an ``Attributes:`` section of the class
    docstring.

    >>> @dataclasses.dataclass
    ... class Config:
    ...     \"\"\"Attributes:
    ...         seeds: how many seeds,
    ...             at least 2.
    ...     \"\"\"
    ...     seeds: int = 3
    >>> field_docs(Config)
    {'seeds': 'how many seeds, at least 2.'}
    >>> from rlbasics.launch import RunSummary  # documented by attribute docstrings
    >>> field_docs(RunSummary)["solved_at"]
    'Env steps at the first evaluation that reached the stop return (None: never).'
    """
    docs: dict[str, str] = {}
    section = [line for line in (inspect.getdoc(cls) or "").partition("Attributes:\n")[2]
               .splitlines() if line.strip()]
    indent = len(section[0]) - len(section[0].lstrip()) if section else 0
    for line in section:  # "name: text" at the first entry's indent, continued deeper
        depth, (name, colon, text) = len(line) - len(line.lstrip()), line.strip().partition(": ")
        if depth == indent and colon and name.isidentifier():
            docs[name] = text
        elif depth > indent and docs:
            docs[list(docs)[-1]] += " " + line.strip()
        else:  # the section ended
            break
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source file (a class made in a console)
        return docs
    body = ast.parse(source).body[0].body
    docs.update({
        statement.target.id: inspect.cleandoc(following.value.value)
        for statement, following in itertools.pairwise(body)
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    })
    return docs


def config_help(cls: type, title: str) -> str:
    """Every field of config class ``cls`` with its type, default and documentation."""
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    lines = [f"{title} (--set KEY=VALUE, or KEY = VALUE lines in a --config TOML file):"]
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        kind = kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")
        lines.append(f"  {field.name} = {field.default!r}   ({kind})")
        lines += textwrap.wrap(" ".join(docs.get(field.name, "").split()), width=90,
                               initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def number(kind: type, low: float, allowed: str) -> Callable[[str], Any]:
    """An argparse ``type=`` accepting a finite ``kind`` (int or float) >= ``low``.

    >>> number(int, 1, "an int >= 1")("3")
    3
    """

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        if not value >= low or (kind is float and math.isinf(value)):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


POSITIVE_INT = number(int, 1, "an int >= 1")
COUNT = number(int, 0, "an int >= 0")


def check_png(path: Path) -> None:
    """An output figure path: ends in .png, and no file where a folder must be."""
    if path.suffix.lower() != ".png":
        raise ValueError(f"--out must end in .png, got {path}")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"output path {folder} is a file, not a folder")
            break


def show_warning(message: Warning | str, category: type[Warning], *args: Any,
                 **kwargs: Any) -> None:
    """A ``warnings.showwarning`` for a command line: ``warning: <message>``, one line."""
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)
