"""Worker entry for multi-process training: `torchrun ... -m rlev_cli.train.launch RUN/config.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rlev_cli.train.config import TrainConfig


def main(config_path: str) -> None:
    resolved = json.loads(Path(config_path).read_text())
    fields = set(TrainConfig.__dataclass_fields__)
    config = TrainConfig(**{k: v for k, v in resolved.items() if k in fields})
    from rlev_cli.train.core import train_here

    train_here(config, Path(resolved["data"]), resolved["model_path"], Path(resolved["output"]))
    import torch.distributed as dist

    if dist.is_initialized():  # tear down in order, all ranks together, before the interpreter exits
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
