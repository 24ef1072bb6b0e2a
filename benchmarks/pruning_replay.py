"""Which pruner pays: sweeps replayed over real learning curves, every pruner side by side.

Run ``benchmarks/pruning_curves.py`` first (it trains the grid and writes the curves), then
``.venv/bin/python benchmarks/pruning_replay.py [--curves FILE] [--trials 16] [--seeds 20]``.

A tabular benchmark, as HPO research compares pruners: each sweep is an Optuna study with the
TPE sampler over the grid of ``pruning_curves.py`` (the term-QA sweep space), with the same
sampler and pruner objects loclab builds from a spec (:mod:`loclab.sweep.samplers`);
a trial reports the recorded validation accuracy of its configuration epoch by epoch, and the
pruner may stop it after any epoch. Compute is the epochs a trial trained, each at its
configuration's median recorded epoch seconds. Trials run one after another (a sweep with
``workers: 1``; a parallel sweep decides with less information).

For each sampler seed the unpruned sweep of ``--trials`` trials sets the target, its best
value; each pruned sweep (same seed) runs until it reaches the target, up to ``--budget``
times the trials, and the compute it spent to get there is divided by the compute the
unpruned sweep spent to first reach its best. Printed per pruner: the median ratio over seeds,
how often the target was reached, the mean best value after the same number of trials, and
the mean best value within the unpruned sweep's compute (how often it is as good). The
goal of issue 14 is a median ratio <= 0.5. Nothing is asserted.

The sweep space is the table's grid, or with ``--fix NAME=VALUE`` the sub-grid with that value
(the table must cover the space it searches: ``pruning_curves.py --only NAME=VALUE`` trains a
complete sub-grid first). Epochs are costed at the median so that a curve recorded while the
machine was busy for a minute does not count as a dearer model.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

#: Pruners compared, as a spec's ``pruner`` and ``pruner_options`` would name them.
#: Rows are "pruner" or "pruner: options"; the pruner's name is what comes before the colon.
PRUNERS: dict[str, dict[str, Any]] = {
    "none": {},
    "median: Optuna defaults": {},
    "median": {"n_startup_trials": 4, "n_warmup_steps": 1},
    "median: warmup 0": {"n_startup_trials": 4, "n_warmup_steps": 0},
    "percentile 25": {"percentile": 25, "n_startup_trials": 4, "n_warmup_steps": 1},
    "percentile 25: warmup 0": {"percentile": 25, "n_startup_trials": 4, "n_warmup_steps": 0},
    "successive_halving: Optuna defaults": {},
    "successive_halving": {"min_resource": 1, "reduction_factor": 3},
    "successive_halving: rf 2": {"min_resource": 1, "reduction_factor": 2},
    "successive_halving: rf 4": {"min_resource": 1, "reduction_factor": 4},
    "hyperband": {"min_resource": 1, "reduction_factor": 3},
    "hyperband: rf 4": {"min_resource": 1, "reduction_factor": 4},
    "hyperband: rf 2": {"min_resource": 1, "reduction_factor": 2},
}


def pruner_name(row: str) -> str:
    """The spec's ``pruner`` of a row of :data:`PRUNERS`."""
    return row.split(":")[0].split(" ")[0]


def sweep_spec(
    pruner: str, options: dict[str, Any], grid: dict[str, list[Any]], trials: int, seed: int
):
    from loclab.spec.sweep import SweepSpec

    return SweepSpec.model_validate(
        {
            "metric": "val_acc",
            "n_trials": trials,
            "seed": seed,
            "pruner": pruner,
            "pruner_options": options,
            "space": {k: {"type": "categorical", "choices": v} for k, v in grid.items()},
        }
    )


def replay(
    table: dict[str, Any], pruner: str, seed: int, max_trials: int, target: float | None
) -> list[tuple[float, float, bool]]:
    """One sweep; per trial (value, seconds trained, completed), in order.

    Stops after ``max_trials`` trials, or once a completed trial reaches ``target``.
    """
    import optuna

    from loclab.sweep.samplers import make_pruner, make_sampler

    grid = table["grid"]
    curves = {
        json.dumps({k: r["config"][k] for k in sorted(r["config"])}, sort_keys=True): r
        for r in table["runs"]
    }
    if len(curves) < math.prod(len(v) for v in grid.values()):
        # A partial table (--quick): search over the configurations it has.
        grid = {"config": sorted(curves)}
    spec = sweep_spec(pruner_name(pruner), PRUNERS[pruner], grid, max_trials, seed)
    study = optuna.create_study(
        # A fixed name: Hyperband assigns trials to brackets by hashing it with the trial number.
        study_name=f"replay-{seed}",
        direction="maximize",
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
    )
    out: list[tuple[float, float, bool]] = []
    for _ in range(max_trials):
        trial = study.ask()
        config = {k: trial.suggest_categorical(k, v) for k, v in grid.items()}
        key = config["config"] if "config" in config else json.dumps(config, sort_keys=True)
        run = curves.get(str(key))
        if run is None:  # a configuration the table lacks (a partial table)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        spent = 0.0
        pruned = False
        seconds = statistics.median(run["seconds"])
        for step, value in enumerate(run["val_acc"]):
            spent += seconds
            trial.report(value, step)
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            out.append((float("-inf"), spent, False))
            continue
        final = run["val_acc"][-1]
        study.tell(trial, final)
        out.append((final, spent, True))
        if target is not None and final >= target:
            break
    return out


def compute_to(trials: list[tuple[float, float, bool]], target: float) -> float | None:
    spent = 0.0
    for value, seconds, completed in trials:
        spent += seconds
        if completed and value >= target:
            return spent
    return None


def best_within(trials: list[tuple[float, float, bool]], compute: float) -> float:
    """Best completed value among the trials that ended within ``compute`` seconds."""
    spent, best = 0.0, float("-inf")
    for value, seconds, completed in trials:
        spent += seconds
        if spent > compute * (1 + 1e-9):
            break
        if completed:
            best = max(best, value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=Path, default=None)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=float, default=3.0, help="pruned sweeps' trial cap")
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="search the sub-grid with this value (repeatable), e.g. batch_size=64",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 seeds over pruning_curves.py --quick's table"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.trials = 3, 6
        args.curves = args.curves or Path("/tmp/loclab-pruning-curves-quick.json")
    path = args.curves or REPO / "benchmarks" / "data" / "pruning_curves_small.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/pruning_curves.py first")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table = json.loads(path.read_text())
    from pruning_curves import in_grid, sub_grid

    table["grid"] = sub_grid(table["grid"], args.fix, "--fix")
    runs = table["runs"] = [r for r in table["runs"] if in_grid(r["config"], table["grid"])]
    missing = math.prod(len(v) for v in table["grid"].values()) - len(runs)
    if missing > 0 and not args.quick:
        raise SystemExit(
            f"{path} lacks {missing} configurations of the grid {table['grid']}: train them "
            "(pruning_curves.py, --only for a sub-grid) or search a sub-grid it covers (--fix)"
        )
    epochs = table["epochs"]
    finals = sorted(r["val_acc"][-1] for r in runs)
    print(
        f"{len(runs)} learning curves ({table['size']} data, {epochs} epochs, grid "
        f"{table['grid']}; final val_acc "
        f"{finals[0]:.4f} to {finals[-1]:.4f}, median {statistics.median(finals):.4f}); "
        f"{args.trials} trials per unpruned sweep, {args.seeds} sampler seeds, TPE"
    )
    ratios: dict[str, list[float]] = {p: [] for p in PRUNERS}
    reached: dict[str, int] = dict.fromkeys(PRUNERS, 0)
    best_at_n: dict[str, list[float]] = {p: [] for p in PRUNERS}
    spent_at_n: dict[str, list[float]] = {p: [] for p in PRUNERS}
    best_same_compute: dict[str, list[float]] = {p: [] for p in PRUNERS}
    as_good: dict[str, int] = dict.fromkeys(PRUNERS, 0)
    for seed in range(args.seeds):
        base = replay(table, "none", seed, args.trials, None)
        target = max(v for v, _, c in base if c)
        base_cost = compute_to(base, target)
        assert base_cost is not None
        for pruner in PRUNERS:
            fixed = replay(table, pruner, seed, args.trials, None)
            best_at_n[pruner].append(max((v for v, _, c in fixed if c), default=float("nan")))
            spent_at_n[pruner].append(sum(s for _, s, _ in fixed))
            # The same compute as the unpruned sweep's 16 trials: more trials, if pruned.
            same = best_within(
                replay(table, pruner, seed, int(args.budget * args.trials), None),
                sum(s for _, s, _ in base),
            )
            best_same_compute[pruner].append(same)
            as_good[pruner] += same >= target
            if pruner == "none":
                ratios[pruner].append(1.0)
                reached[pruner] += 1
                continue
            long = replay(table, pruner, seed, int(args.budget * args.trials), target)
            cost = compute_to(long, target)
            if cost is not None:
                reached[pruner] += 1
                ratios[pruner].append(cost / base_cost)
            else:
                ratios[pruner].append(float("inf"))
    none_spent = statistics.median(spent_at_n["none"])
    print(
        f"\n{'':36s} {'compute to reach the unpruned best':>35s} {'':>8s}   "
        f"{'after ' + str(args.trials) + ' trials':>17s}   {'same compute':>19s}"
    )
    print(
        f"{'pruner':36s} {'median ratio':>17s} {'':>17s} {'reached':>8s}   "
        f"{'mean best':>9s} {'compute':>7s}   {'mean best':>9s} {'as good':>9s}"
    )
    for pruner, found in ratios.items():
        median = statistics.median(found)
        quartiles = statistics.quantiles(found, n=4) if len(found) > 1 else [median] * 3
        spread = f"(IQR {quartiles[0]:.2f}-{quartiles[2]:.2f})"
        print(
            f"{pruner:36s} {median:>16.2f}x {spread:>17s} "
            f"{reached[pruner]:>4d}/{args.seeds:<3d}   "
            f"{statistics.fmean(best_at_n[pruner]):>9.4f} "
            f"{statistics.median(spent_at_n[pruner]) / none_spent:>6.2f}x   "
            f"{statistics.fmean(best_same_compute[pruner]):>9.4f} "
            f"{as_good[pruner]:>5d}/{args.seeds:<3d}"
        )
    print(
        "\ncompute: epochs trained x their configuration's median recorded epoch seconds; "
        "ratios are pruned / unpruned, medians over seeds (inf: not reached within "
        f"{args.budget:g} x {args.trials} trials). Same compute: the best value a sweep has "
        f"completed within the unpruned sweep's compute for {args.trials} trials (a pruned "
        "sweep gets more trials for it), and in how many seeds it is at least the unpruned "
        "sweep's best."
    )


if __name__ == "__main__":
    main()
