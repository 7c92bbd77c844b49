"""One declaration per setting: a config dataclass field is at once the Python argument, the YAML key
and the command-line flag, with its default and help written once (as TRL's parser does for GRPOConfig).

A stage declares its settings with `setting(...)`; `rlev_cli.cli` turns a config class into a Typer
command with `command_parameters`, and `build_config` resolves a run's settings: flags given on the
command line win over the `--config` YAML file, which wins over the declared defaults.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
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
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_unique_key_loader(path)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reason = " ".join(str(err).split())  # one line: YAML's message spans several, with a caret
        raise RlevError(f"{path}: cannot read the --config YAML ({reason})") from err
    if not isinstance(loaded, dict):
        raise RlevError(f"{path}: --config must be a mapping of setting: value")
    known = {f.name for f in cli_fields(config)}
    unknown = sorted(str(k) for k in set(loaded) - known)
    if unknown:
        import difflib

        close = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        named = ", ".join(f"{k} (did you mean {close[k][0]}?)" if close[k] else k for k in unknown)
        raise RlevError(f"{path}: unknown setting(s) {named}; known: {', '.join(sorted(known))}")
    hints = _resolved_types(config)
    for name, value in loaded.items():
        if typing.get_origin(hints[name]) is dict and isinstance(
            value, list
        ):  # [KEY=VALUE, ...] as on the command line
            loaded[name] = parse_pairs(name, [str(v) for v in value])
    settings = {name: typed(f"{path}: {name}", value, hints[name]) for name, value in loaded.items()}
    for name, value in settings.items():  # named by file and key here, not as a flag by the config's own check
        choices = _field(config, name).metadata.get("choices") or ()
        outside = [v for v in (value if isinstance(value, list) else [value]) if v is not None and v not in choices]
        if choices and outside:
            raise RlevError(f"{path}: {name}: {outside[0]!r} is not a choice; choose {', '.join(choices)}")
    return settings


def _unique_key_loader(path: Path) -> type:
    """PyYAML's safe loader, but a key written twice in one mapping is an error naming the file and line
    (PyYAML keeps the last one silently: `alpha: 1` then `alpha: 2` in a hand-edited file trained with 2)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`: its keys may be overridden here
                    continue
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]`: a list or mapping as a key
                    kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                    raise RlevError(f"{path}: line {line}: a key must be a name, not a {kind}")
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise RlevError(f"{path}: line {line}: key {key!r} is given twice; keep one")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


class WrongType(ValueError):
    """A value that is not of a setting's declared type (`str(err)` says what was expected)."""


_INT = re.compile(r"[+-]?\d+")


def convert(value: Any, annotation: Any) -> Any:
    """`value` as the declared type `annotation`, strictly: a YAML string that is a number is that number
    (PyYAML reads `1e-5` as a string), an int is a float, a string is a Path; nothing else is converted
    (`1.7` is not an int, `"no"` is not a bool).

    >>> convert("1e-5", float), convert(3, float), convert("2", int | None), convert(None, int | None)
    (1e-05, 3.0, 2, None)
    >>> convert(1.7, int)
    Traceback (most recent call last):
    ...
    rlev_cli.settings.WrongType: an integer

    Raises:
        WrongType: the value is not of that type; the message describes the type expected.
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any or annotation is object:
        return value
    if annotation is None or annotation is type(None):
        if value is None:
            return None
    elif origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for member in (a for a in args if a is not type(None)):
            try:
                return convert(value, member)
            except WrongType:
                continue
    elif origin is typing.Literal:
        if value in args:
            return value
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT.fullmatch(value.strip()):
            return int(value)
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is Path:
        if isinstance(value, str | Path):
            return Path(value)
    elif origin in (list, tuple) or annotation in (list, tuple):
        if isinstance(value, list | tuple):
            item = args[0] if args else Any
            return [convert(v, item) for v in value]
    elif origin is dict or annotation is dict:
        if isinstance(value, dict):
            key, item = args if len(args) == 2 else (Any, Any)
            return {convert(k, key): convert(v, item) for k, v in value.items()}
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if value in {m.value for m in annotation} or isinstance(value, annotation):
            return value
    elif isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise WrongType(describe(annotation))


def describe(annotation: Any) -> str:
    """A declared type in words, for error messages.

    >>> describe(float | None), describe(list[int]), describe(bool)
    ('a number or null', 'a list of integers', 'true or false')
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(a) for a in args))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple) or annotation in (list, tuple):
        return f"a list of {_plural(describe(args[0]))}" if args else "a list"
    if origin is dict or annotation is dict:
        return "a mapping"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in annotation)
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        Path: "a path",
        type(None): "null",
        None: "null",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _plural(words: str) -> str:
    return {"an integer": "integers", "a number": "numbers", "a string": "strings", "a path": "paths"}.get(words, words)


def typed(where: str, value: Any, annotation: Any) -> Any:
    """`convert` with the error users see: `train.yaml: max_steps: expected an integer, got 1.7`."""
    try:
        return convert(value, annotation)
    except WrongType as err:
        inner = [a for a in typing.get_args(annotation) if a is not type(None)] if _is_optional(annotation) else []
        mapping = inner[0] if len(inner) == 1 else annotation
        if typing.get_origin(mapping) is dict and isinstance(value, dict):  # name the entry, not the whole mapping
            key_type, item_type = typing.get_args(mapping) or (Any, Any)
            for key, item in value.items():
                typed(f"{where}: {key}", key, key_type)
                typed(f"{where}: {key}", item, item_type)
        raise RlevError(f"{where}: expected {err}, got {value!r}") from None


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
    for name, value in values.items():  # flags arrive typed by Typer; YAML and Python values are checked here
        if name in hints:
            values[name] = typed(name, value, hints[name])
    return config(**values)
