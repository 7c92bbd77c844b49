"""One declaration per setting: a config dataclass field is at once the Python argument, the YAML key
and the command-line flag, with its default and help written once (as TRL's parser does for GRPOConfig).

A stage declares its settings with `setting(...)`; `rlev_cli.cli` turns a config class into a Typer
command with `command_parameters`, and `build_config` resolves a run's settings: flags given on the
command line win over the `--config` YAML file, which wins over the declared defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlev_cli.errors import RlevError


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flags: Sequence[str] = (),
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    factory: Callable[[], Any] | None = None,
    cli: bool = True,
    envvar: str | None = None,
) -> Any:
    """A config field with its command-line face: `--help` text, extra flag names (`-o`), closed choices
    (shells complete them), a metavar; `cli=False` keeps a field out of the command line (set by code)."""
    metadata = {
        "help": help,
        "flags": tuple(flags),
        "choices": tuple(choices) if choices is not None else None,
        "metavar": metavar,
        "cli": cli,
        "envvar": envvar,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def help_for(config: type, name: str) -> str:
    """The help text of one config field.

    >>> from rlev_cli.train.config import TrainConfig
    >>> help_for(TrainConfig, "alpha")
    'α in s(x) = 1 + min(α·v, 1).'
    """
    return str(_field(config, name).metadata["help"])


def as_dict(config: Any) -> dict[str, Any]:
    """A config as JSON-ready data (paths as strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def cli_fields(config: type) -> list[dataclasses.Field[Any]]:
    """The fields of a config class that are command-line options: its own in declaration order, then
    those it inherits (shared settings such as the grading ones come last in `--help`)."""
    own = set(inspect.get_annotations(config))
    fields = [f for f in dataclasses.fields(config) if f.metadata.get("cli", True)]
    return [f for f in fields if f.name in own] + [f for f in fields if f.name not in own]


def _field(config: type, name: str) -> dataclasses.Field[Any]:
    for f in dataclasses.fields(config):
        if f.name == name:
            return f
    raise KeyError(f"{config.__name__} has no setting {name!r}")


def _resolved_types(config: type) -> dict[str, Any]:
    module = inspect.getmodule(config)
    return typing.get_type_hints(config, globalns=vars(module) if module else None)


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return ...


def _is_optional(annotation: Any) -> bool:
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def option_parameter(config: type, f: dataclasses.Field[Any], annotation: Any) -> inspect.Parameter:
    """The Typer option of one field: flag `--field-name` (or the declared flags), help, choices."""
    import typer

    meta = f.metadata
    flags = list(meta.get("flags", ())) or [f"--{f.name.replace('_', '-')}"]
    if annotation is bool and f.default is True:
        flags = [f"{flags[0]}/--no-{flags[0][2:]}", *flags[1:]]
    elif annotation == bool | None:
        annotation = bool
        flags = [f"{flags[0]}/--no-{flags[0][2:]}", *flags[1:]]
    kwargs: dict[str, Any] = {"help": meta["help"]}
    default = _default_of(f)
    computed = f.default_factory is not dataclasses.MISSING and not isinstance(default, list | dict)
    if default is None or (isinstance(default, list | dict) and not default) or len(str(default)) > 40 or computed:
        kwargs["show_default"] = False
    if meta.get("choices"):  # a Literal gives Typer real choices: `--help` lists them, shells complete them
        literal = typing.Literal[tuple(meta["choices"])]  # type: ignore[valid-type]
        if typing.get_origin(annotation) is list:  # Typer takes no list[Literal]: the config checks the items
            kwargs["metavar"] = f"<{'|'.join(meta['choices'])}>"
        else:
            annotation = literal | None if _is_optional(annotation) else literal
    elif typing.get_origin(annotation) is list and not meta.get("metavar"):
        (item,) = typing.get_args(annotation)
        kwargs["metavar"] = f"<{'path' if item is Path else item.__name__}>"  # not <list[int]>
    if meta.get("metavar"):
        kwargs["metavar"] = meta["metavar"]
    if meta.get("envvar"):
        kwargs["envvar"] = meta["envvar"]
    if computed:
        default = None  # computed when the config is made (e.g. from the environment), not at import
    if typing.get_origin(annotation) is dict:  # KEY=VALUE pairs, parsed by the config
        annotation = list[str] | None
        default = None
    elif typing.get_origin(annotation) is list:
        annotation = annotation | None
        default = None
    option = typer.Option(default, *flags, **kwargs)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def command_parameters(config: type, skip: Sequence[str] = ()) -> list[inspect.Parameter]:
    """Typer parameters for every command-line field of `config` (those in `skip` are declared by the
    command itself, e.g. a positional argument)."""
    hints = _resolved_types(config)
    return [option_parameter(config, f, hints[f.name]) for f in cli_fields(config) if f.name not in skip]


def read_config_file(path: Path, config: type) -> dict[str, Any]:
    """The settings in a `--config` YAML file (snake_case keys of the config class)."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reason = " ".join(str(err).split())  # one line: YAML's message spans several, with a caret
        raise RlevError(f"{path}: cannot read the --config YAML ({reason})") from err
    if not isinstance(loaded, dict):
        raise RlevError(f"{path}: --config must be a mapping of setting: value")
    known = {f.name for f in cli_fields(config)}
    unknown = sorted(str(k) for k in set(loaded) - known)
    if unknown:
        raise RlevError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dict(loaded)


def parse_pairs(name: str, items: Sequence[str]) -> dict[str, str]:
    """KEY=VALUE command-line items as a dict (`--map question=problem`).

    >>> parse_pairs("--map", ["question=problem", "score = points"])
    {'question': 'problem', 'score': 'points'}
    """
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise RlevError(f"{name} {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def build_config(
    config: type, flags: dict[str, Any], given: set[str], from_file: dict[str, Any] | None = None, **fixed: Any
) -> Any:
    """The settings of one run: `fixed` (set by the command) over flags given on the command line
    (`given`) over the `--config` file's settings (`read_config_file`) over the declared defaults."""
    hints = _resolved_types(config)
    values: dict[str, Any] = dict(from_file or {})
    for name, value in flags.items():
        if name in given or name not in values:
            values[name] = value
    for name, value in list(values.items()):
        origin = typing.get_origin(hints.get(name))
        if value is None and name not in given and name not in fixed:
            default = _default_of(_field(config, name))
            values[name] = default if default is not ... else value
        elif origin is dict and isinstance(value, list):
            values[name] = parse_pairs(f"--{name.replace('_', '-')}", value)
        elif origin is list and value is None:
            values[name] = []
    values.update(fixed)
    return config(**values)
