"""Pieces every Lightning module of loclab shares: the learning-rate schedule and checkpoints."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import torch

__all__ = ["save_checkpoint", "warmup_cosine"]


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, floor: float = 0.05
) -> dict[str, Any]:
    """Linear warm-up over 10 % of the steps, then cosine decay to ``floor`` times the peak.

    The schedule is a function of the step, recomputed from the trainer at every (re)start,
    so resuming a checkpoint with more epochs than it was started with keeps working.

    Args:
        optimizer: The optimizer whose learning rates are scaled.
        total_steps: Steps of the whole run (``trainer.estimated_stepping_batches``).
        floor: Final learning rate as a share of the peak.

    Returns:
        The ``lr_scheduler`` entry of ``configure_optimizers``'s result.
    """
    total = max(int(total_steps), 1)
    warmup = max(total // 10, 1)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"scheduler": schedule, "interval": "step"}


def save_checkpoint(
    module: L.LightningModule,
    path: Path | str,
    default_name: str,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write weights and hyperparameters as a checkpoint ``load_from_checkpoint`` reads.

    Args:
        module: The module.
        path: File to write; a folder gets ``default_name`` inside it.
        default_name: File name used when ``path`` is a folder.
        state_dict: What to store (default: the whole state dict).

    Returns:
        The written file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": module.state_dict() if state_dict is None else state_dict,
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": L.__version__,
        },
        path,
    )
    return path
