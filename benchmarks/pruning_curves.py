"""Learning curves of the term-QA character CNN over a grid of configurations (for pruning).

Run with ``nice -n 10 .venv/bin/python benchmarks/pruning_curves.py [--size small] [--epochs 8]
[--procs 2] [--out benchmarks/data/pruning_curves_small.json]`` (``--quick``: tiny data, 3
epochs, 8 configurations, to /tmp, to prove it works).

Trains every configuration of a grid over the sweep space of ``experiments/term_qa.yaml``
(learning rate, width, dropout, batch size) to the end, with the same library calls as
``train_term_qa.ipynb`` (deterministic, seeded), and records the validation accuracy and the
seconds of every epoch. ``pruning_replay.py`` then replays sweeps over this table with each
pruner (a tabular benchmark, as HPO research compares pruners: every sweep sees the same,
real, learning curves, so many sampler seeds cost nothing). Configurations already in the
output file are skipped: the run can be stopped and resumed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
#: The grid: the term-QA sweep space of experiments/term_qa.yaml, discretised.
GRID: dict[str, list[Any]] = {
    "lr": [3e-4, 1e-3, 3e-3, 1e-2],
    "hidden": [32, 64, 96],
    "dropout": [0.0, 0.2, 0.4],
    "batch_size": [32, 64, 128],
}
FIXED = {"seed": 0, "data_seed": 13, "weight_decay": 0.05, "resample_errors": True}


def config_key(config: dict[str, Any]) -> str:
    """Stable text key of a configuration."""
    return json.dumps({k: config[k] for k in sorted(config)}, sort_keys=True)


def sub_grid(grid: dict[str, list[Any]], pairs: list[str], flag: str) -> dict[str, list[Any]]:
    """``grid`` with each ``NAME=VALUE`` of ``pairs`` fixing that name to that value."""
    grid = dict(grid)
    for pair in pairs:
        name, _, value = pair.partition("=")
        choices = {str(v): v for v in grid.get(name, [])}
        if value not in choices:
            raise SystemExit(f"{flag} {pair}: expected NAME=VALUE from the grid {grid}")
        grid[name] = [choices[value]]
    return grid


def in_grid(config: dict[str, Any], grid: dict[str, list[Any]]) -> bool:
    """True when every value of ``config`` is one of ``grid``'s."""
    return all(config[k] in v for k, v in grid.items())


def train(config: dict[str, Any], size: str, epochs: int, cache: str) -> dict[str, Any]:
    """Train one configuration; per-epoch validation accuracy and seconds."""
    import torch

    torch.set_num_threads(1)
    import lightning as L

    from loclab.data import TermQADataModule, load_term_qa
    from loclab.models.term_qa import TermQAModule

    class Curve(L.Callback):
        def __init__(self) -> None:
            self.values: list[float] = []
            self.seconds: list[float] = []
            self.t0 = time.perf_counter()

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self.t0 = time.perf_counter()

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking:
                return
            self.values.append(float(trainer.callback_metrics["val_acc"]))
            self.seconds.append(time.perf_counter() - self.t0)

    for name in ("lightning.pytorch", "lightning.fabric"):
        import logging

        logging.getLogger(name).setLevel(logging.WARNING)
    dataset = load_term_qa(size, seed=FIXED["data_seed"], cache_dir=cache)
    L.seed_everything(FIXED["seed"], workers=True, verbose=False)
    datamodule = TermQADataModule(
        dataset,
        batch_size=config["batch_size"],
        seed=FIXED["seed"],
        resample_errors=FIXED["resample_errors"],
    )
    system = TermQAModule.from_datamodule(
        datamodule,
        hidden=config["hidden"],
        dropout=config["dropout"],
        lr=config["lr"],
        weight_decay=FIXED["weight_decay"],
    )
    curve = Curve()
    trainer = L.Trainer(
        max_epochs=epochs,
        deterministic=True,
        logger=False,
        callbacks=[curve],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(system, datamodule=datamodule)
    return {"config": config, "val_acc": curve.values, "seconds": curve.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="train at most this many")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="train only the grid's configurations with this value (repeatable), e.g. "
        "batch_size=64: a complete sub-grid first, when there is no time for the whole grid",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny data, 3 epochs, 8 configurations, 1 process"
    )
    args = parser.parse_args()
    if args.quick:
        args.size, args.epochs, args.limit, args.procs = "tiny", 3, 8, 1
        args.out = args.out or Path("/tmp/loclab-pruning-curves-quick.json")
    wanted = sub_grid(GRID, args.only, "--only")  # before anything is built or read
    out = args.out or REPO / "benchmarks" / "data" / f"pruning_curves_{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = os.environ.get("LOCLAB_CACHE_DIR") or str(Path.home() / ".cache" / "loclab-bench")
    Path(cache).mkdir(parents=True, exist_ok=True)
    from loclab.data import load_term_qa

    load_term_qa(args.size, seed=FIXED["data_seed"], cache_dir=cache)  # build once, here
    table: dict[str, Any] = (
        json.loads(out.read_text())
        if out.exists()
        else {"size": args.size, "epochs": args.epochs, "grid": GRID, "fixed": FIXED, "runs": []}
    )
    done = {config_key(r["config"]) for r in table["runs"]}
    configs = [
        dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())
    ]
    # A seeded order: a table stopped half-way still covers the whole space evenly.
    random.Random(0).shuffle(configs)
    configs = [c for c in configs if in_grid(c, wanted)]
    todo = [c for c in configs if config_key(c) not in done][: args.limit]
    print(f"{len(configs)} configurations, {len(done)} done, {len(todo)} to train", flush=True)
    started = time.time()
    with ProcessPoolExecutor(args.procs) as pool:
        futures = [pool.submit(train, c, args.size, args.epochs, cache) for c in todo]
        for n, future in enumerate(as_completed(futures), 1):
            run = future.result()
            table["runs"].append(run)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(table, indent=1))
            tmp.replace(out)
            print(
                f"[{n}/{len(todo)}] {run['config']}: val_acc {run['val_acc'][-1]:.4f} "
                f"(best {max(run['val_acc']):.4f}), {sum(run['seconds']):.0f} s; "
                f"{time.time() - started:.0f} s so far; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
