"""Typer's parameter coercion without pydantic for the plain parameters of our commands.

Typer (0.29) coerces every command-line value through a pydantic ``TypeAdapter`` built when the
command runs: importing pydantic and building the adapters costs a command about 100 ms, a third
of what loading SQLAlchemy, Typer and PyYAML costs, for parameters that are text, a path or a flag
(issue 10, part 9). `install` gives those parameters a coercion of their own that does what
Typer's adapter does for them:

- ``str``: a text value is itself (Typer's ``_parse_cli_str`` returns it unchanged);
- ``pathlib.Path`` without path options (``resolve_path``, ``allow_dash``, ``path_type``): the
  value as a ``Path``, then Typer's own path checks (``exists``, ``readable``…), which it runs
  after its adapter;
- ``bool``: a flag's value is already a bool.

Anything else (a number, a choice, a date, a list, a parser, a bytes value, an empty path) goes to
Typer's adapter, built on first use as Typer would. Typer has no option to skip pydantic, so this
hooks its (private) parameter class; if a later Typer lacks that hook, `install` changes nothing
and the commands keep working through pydantic (tests/test_cli_imports.py then reports pydantic
loaded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


def install() -> bool:
    """Hook the plain coercion into Typer; False when this Typer has no such hook."""
    try:
        from typer import _coercion, _param_types, core
    except ImportError:  # pragma: no cover - another Typer layout: keep Typer's own coercion
        return False
    parameter: Any = getattr(core, "_TyperParameter", None)
    runtime_param: Any = getattr(_coercion, "RuntimeParam", None)
    build: Any = getattr(_coercion, "build_runtime_param", None)
    coerce_path: Any = getattr(_param_types, "coerce_cli_path", None)
    original: Any = getattr(parameter, "get_runtime_param", None)
    if None in (parameter, runtime_param, build, coerce_path, original):  # pragma: no cover
        return False
    if getattr(original, "__egide_plain__", False):
        return True

    def plain_kind(descriptor: Any) -> type | None:
        info = descriptor.parameter_info
        if descriptor.file_annotation is not None or getattr(info, "parser", 1) is not None:
            return None
        annotation = descriptor.annotation
        if annotation is str or annotation is bool:
            return annotation
        if annotation is Path and not (
            getattr(info, "resolve_path", True)
            or getattr(info, "allow_dash", True)
            or getattr(info, "path_type", 1) is not None
        ):
            return Path
        return None

    @dataclass(frozen=True)
    class PlainParam(runtime_param):  # type: ignore[misc]
        """The coercion of a plain str, Path or bool parameter; Typer's adapter otherwise."""

        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if kind is str and isinstance(value, str):
                return value
            if kind is bool and isinstance(value, bool):
                return value
            if kind is Path and isinstance(value, str | Path) and str(value):
                return coerce_path(
                    Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx
                )
            return build(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            kind = plain_kind(descriptor)
            if kind is not None:
                self._runtime_param = PlainParam(
                    parameter_info=descriptor.parameter_info,
                    annotation=kind,
                    descriptor=descriptor,
                )
        return original(self)

    get_runtime_param.__egide_plain__ = True  # type: ignore[attr-defined]
    parameter.get_runtime_param = get_runtime_param
    return True
