"""Per-trial overhead of a loclab notebook trial against the same training in-process.

Run with ``.venv/bin/python benchmarks/sweep_overhead.py [--trials 3] [--epochs 5]``.

Both sides train the term-QA character CNN on tiny CLDR data with the same parameters:

* **plain Optuna**: ``study.optimize`` calls an objective that makes the same library calls as
  the notebook's cells (load the cached data set, Lightning ``Trainer.fit`` with a per-epoch
  ``trial.report`` callback, test predictions, metrics, predictions file, model file), in this
  process, with torch and Lightning already imported;
* **loclab**: a sweep with ``workers: 1`` over ``train_term_qa.ipynb``: each trial is a job with
  its own process and Papermill kernel, its run folder, its executed notebook, metrics read by
  the driver: with cold kernels (``backend: {warm: false}``) and MLflow child runs; with
  standbys whose kernels import the notebook's modules while a trial runs (``fork: false``);
  with standbys whose kernels are forked from the fork server (the default), without and with
  MLflow. The first trial of a sweep has no standby yet, so use ``--trials`` of 4 or more for
  the steady state.

Prints seconds per trial (all trials, and steady: between trial ends after the first), the
ratio loclab / plain, and where a loclab trial's extra time goes
(start-up before the first cell, notebook cells, wind-down). The goal is <= 1.15x on a trial
that trains about 20 s. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path

from sweep_common import FIXED, load_average, run_sweep, scratch_project, write_spec


def plain_objective(params: dict, cache_dir: Path, workdir: Path):
    """An Optuna objective doing what the notebook does, in this process."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from loclab.data import TermQADataModule, load_term_qa
    from loclab.models import classification_metrics, predictions_frame
    from loclab.models.term_qa import TermQAModule

    class Report(L.Callback):
        def __init__(self, trial):
            self.trial = trial

        def on_validation_epoch_end(self, trainer, pl_module):
            if not trainer.sanity_checking:
                value = float(trainer.callback_metrics["val_acc"])
                self.trial.report(value, trainer.current_epoch)

    def objective(trial) -> float:
        out = workdir / f"t{trial.number}"
        out.mkdir(parents=True)
        dataset = load_term_qa(params["size"], seed=params["data_seed"], cache_dir=cache_dir)
        L.seed_everything(params["seed"], workers=True, verbose=False)
        datamodule = TermQADataModule(
            dataset,
            batch_size=params["batch_size"],
            seed=params["seed"],
            resample_errors=params["resample_errors"],
        )
        system = TermQAModule.from_datamodule(
            datamodule,
            hidden=params["hidden"],
            dropout=params["dropout"],
            lr=params["lr"],
            weight_decay=params["weight_decay"],
        )
        trainer = L.Trainer(
            max_epochs=params["max_epochs"],
            deterministic=True,
            logger=False,
            callbacks=[Report(trial), ModelCheckpoint(dirpath=out, save_last=True)],
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=out,
        )
        trainer.fit(system, datamodule=datamodule)
        scores = system.predict_proba(dataset.test)
        classification_metrics(dataset.test["label"], scores)
        predictions_frame(dataset.test, scores).to_parquet(out / "predictions.parquet")
        system.save(out / "model")
        return float(trainer.callback_metrics["val_acc"])

    return objective


def job_breakdown(study) -> dict[str, float]:
    """Mean start-up, cell time and wind-down of a sweep's jobs (from their run folders).

    Also ``steady``: seconds between one trial's end and the next's after the first trial
    (which no standby serves), the per-trial cost of a long sweep.
    """
    startup, cells, wind, ends = [], [], [], []
    for t in study.get_trials():
        run_dir = Path(t.user_attrs["loclab.run_dir"])
        status = json.loads((run_dir / "status.json").read_text())
        nb = json.loads((run_dir / "output/data/executed.ipynb").read_text())
        stamps = [c["metadata"].get("papermill", {}) for c in nb["cells"]]
        first = min(
            datetime.fromisoformat(s["start_time"]).timestamp()
            for s in stamps
            if s.get("start_time")
        )
        total = sum(s.get("duration") or 0.0 for s in stamps)
        startup.append(first - status["started"])
        cells.append(total)
        wind.append(status["ended"] - first - total)
        ends.append(status["ended"])
    return {
        "steady": (max(ends) - min(ends)) / max(1, len(ends) - 1),
        "start-up": statistics.mean(startup),
        "cells": statistics.mean(cells),
        "wind-down": statistics.mean(wind),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 trials of 1 epoch per side")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 2, 1

    import optuna
    import torch

    scratch = scratch_project("overhead")
    cpus = torch.get_num_threads()
    params = {**FIXED, "max_epochs": args.epochs}
    print(
        f"term-QA char_cnn, tiny data, {args.epochs} epochs, {args.trials} trials per side; "
        f"{load_average()}"
    )

    # Plain Optuna, in-process, everything imported; same thread count as a workers: 1 job.
    from loclab.execution.backends.local import threads_per_job

    torch.set_num_threads(threads_per_job(1))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = plain_objective(params, scratch.root / "data-cache", scratch.root / "plain")
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({})
    objective(study.ask())  # warm-up: imports and first-call costs a plain script pays once
    times = []
    for _ in range(args.trials):
        trial = study.ask()
        start = time.perf_counter()
        value = objective(trial)
        times.append(time.perf_counter() - start)
        study.tell(trial, value)
    plain = statistics.mean(times)
    torch.set_num_threads(cpus)

    sweep = {
        "metric": "val_acc",
        "n_trials": args.trials,
        "workers": 1,
        "sampler": "random",
        "pruner": "none",
        # A one-value space: every trial trains exactly the plain side's configuration.
        "space": {"seed": {"type": "categorical", "choices": [FIXED["seed"]]}},
    }
    fixed = {k: v for k, v in params.items() if k != "seed"}
    rows = [("plain Optuna objective, in-process", plain, None)]
    variants = (
        ("cold kernel", {"warm": False}, True),
        ("standby, kernel imports", {"warm": True, "fork": False}, True),
        ("standby, forked kernel", {"warm": True, "fork": True}, False),
        ("standby, forked kernel", {"warm": True, "fork": True}, True),
    )
    for n, (what, options, tracking) in enumerate(variants):
        backend = {"kind": "local", **options}
        spec = write_spec(scratch, f"overhead-{n}", sweep, fixed, backend)
        study, wall = run_sweep(scratch, spec, tracking=tracking)
        per_trial = wall / args.trials
        label = f"loclab trials, {what}" + (" + MLflow" if tracking else "")
        rows.append((label, per_trial, job_breakdown(study)))

    print()
    print(
        f"{'':48s} {'s/trial':>8s} {'ratio':>7s} {'steady':>7s} {'ratio':>7s}   "
        "breakdown of a loclab trial (s)"
    )
    for label, seconds, parts in rows:
        detail, steady = "", ""
        if parts:
            parts = dict(parts)
            value = parts.pop("steady")
            steady = f"{value:7.1f} {value / plain:6.2f}x"
            detail = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
        print(f"{label:48s} {seconds:8.1f} {seconds / plain:6.2f}x {steady:15s}   {detail}")
    print(
        f"\nplain training per trial: {plain:.1f} s (goal: loclab <= 1.15x on a ~20 s trial); "
        f"{load_average()}"
    )


if __name__ == "__main__":
    main()
