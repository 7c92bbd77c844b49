"""`rlev ingest hf://OWNER/NAME`: a Hugging Face dataset, every configuration and split, through
`datasets.load_dataset` (the hub's own loader: its caching, its data-file resolution, offline mode).

NAME may also be a local folder in a hub dataset's layout (what `load_dataset` accepts), which is how
the release is tested offline. Each (configuration, split) is read like a flat file: the same column
mapping, checks and rejects; its split is the split as released, and a configuration named `en`/`zh`
(or `english`/`chinese`) gives the language.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from rlev_cli.errors import RlevError
from rlev_cli.ingest.readers import unusable
from rlev_cli.ingest.records import ReadResult, UnusableFile

PREFIX = "hf://"


def is_hub(path: object) -> bool:
    return str(path).startswith(PREFIX)


def read_hub(spec: str, field_map: dict[str, str], need_score: bool) -> list[tuple[ReadResult, dict[str, Any], str]]:
    """(result, manifest input entry, split as released) for every configuration x split of `spec`."""
    from rlev_cli.ingest.splits import fill_column, language_from_name, split_from_name
    from rlev_cli.ingest.table import looks_like_rlev_records, map_columns

    rest = spec[len(PREFIX) :]
    name = rest.rstrip("/") if rest.startswith("/") else rest.strip("/")  # hf:///abs/folder keeps its root
    if not name:
        raise RlevError(f"{spec}: name a dataset, e.g. hf://sarosavo/RLEV")
    try:
        import datasets
    except ImportError as err:  # a dependency; only a broken install lacks it
        raise RlevError(f"{spec}: reading from the Hub needs the `datasets` package ({err})") from err
    try:
        configs = datasets.get_dataset_config_names(name)
    except Exception as err:  # the hub client raises many types (offline, missing, gated, bad layout)
        raise RlevError(f"{spec}: cannot open the dataset ({type(err).__name__}: {_first_line(err)})") from err
    out = []
    for config_name in configs or [None]:
        try:
            splits = datasets.load_dataset(name, config_name)
        except Exception as err:
            raise RlevError(
                f"{spec}: cannot load configuration {config_name!r} ({type(err).__name__}: {_first_line(err)})"
            ) from err
        for split_name, dataset in splits.items():
            where = "/".join(p for p in (spec.rstrip("/"), config_name, split_name) if p)
            table = dataset.data.table
            fmt = "rlev" if looks_like_rlev_records(set(table.column_names)) else "table"
            try:
                result = map_columns(table, where, fmt, dict(field_map), split_name, [], None, need_score)
            except UnusableFile as err:
                result = unusable(fmt, where, str(err))
            label = PurePath(config_name or "") / split_name
            result.candidates = fill_column(result.candidates, "split", split_from_name(PurePath(split_name)))
            result.candidates = fill_column(result.candidates, "language", language_from_name(label))
            entry = {
                "path": where,
                "sha256": None,
                "fingerprint": getattr(dataset, "_fingerprint", None),
                "bytes": int(table.nbytes),
                "format": result.format,
                "records": result.n_records,
            }
            out.append((result, entry, split_name))
    return out


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else ""
