"""Compute a pruned sweep spends to reach the best value an unpruned sweep reaches.

Run with ``.venv/bin/python benchmarks/sweep_pruning.py [--trials 12] [--epochs 4]``.

Two TPE sweeps (same seed, same space as ``experiments/term_qa.yaml``, term-QA character CNN on
tiny data, ``workers: 2``): one with the median pruner (the spec's options), one with
``pruner: none``. Compute is counted in *trials-worth*: epochs a trial trained / max epochs
(a pruned trial at step 1 of 4 costs 0.5). The target is the lower of the two sweeps' best
values; for each sweep, the compute spent (trials in completion order) until its best first
reached the target. Prints both and the ratio pruned / unpruned; the goal is <= 0.5x.
Nothing is asserted; one seed is noisy, so ``--seeds 0 1 2`` repeats the pair and sums.
"""

from __future__ import annotations

import argparse

import yaml

from sweep_common import FIXED, REPO, load_average, run_sweep, scratch_project, write_spec


def trial_cost(t, epochs: int) -> float:
    """Trials-worth of compute a trial used."""
    if t.state.name == "COMPLETE":
        return 1.0
    return len(t.intermediate_values) / epochs


def compute_to_reach(study, target: float, epochs: int) -> tuple[float, float]:
    """Compute until the running best first reached ``target``, and the sweep's total."""
    done = sorted(
        (t for t in study.get_trials() if t.datetime_complete is not None),
        key=lambda t: t.datetime_complete,
    )
    spent, reached = 0.0, None
    best = float("-inf")
    for t in done:
        spent += trial_cost(t, epochs)
        if t.state.name == "COMPLETE":
            best = max(best, t.value)
        if reached is None and best >= target:
            reached = spent
    return (reached if reached is not None else float("nan")), spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()

    spec = yaml.safe_load((REPO / "experiments" / "term_qa.yaml").read_text())["sweep"]
    scratch = scratch_project("pruning")
    fixed = {k: v for k, v in FIXED.items() if k not in spec["space"]}
    fixed["max_epochs"] = args.epochs
    print(
        f"term-QA char_cnn, tiny data, {args.epochs} epochs, {args.trials} trials per sweep, "
        f"workers 2, TPE; pruner options {spec.get('pruner_options', {})}; {load_average()}"
    )
    totals = {"median": [0.0, 0.0], "none": [0.0, 0.0]}
    for seed in args.seeds:
        studies, walls = {}, {}
        for pruner in ("median", "none"):
            sweep = {
                "metric": "val_acc",
                "n_trials": args.trials,
                "workers": 2,
                "sampler": "tpe",
                "seed": seed,
                "pruner": pruner,
                "pruner_options": spec.get("pruner_options", {}) if pruner != "none" else {},
                "space": spec["space"],
            }
            path = write_spec(scratch, f"pruning-{pruner}-s{seed}", sweep, fixed)
            studies[pruner], walls[pruner] = run_sweep(scratch, path)
        bests = {
            p: max(t.value for t in s.get_trials() if t.state.name == "COMPLETE")
            for p, s in studies.items()
        }
        target = min(bests.values())
        print(
            f"\nseed {seed}: target val_acc {target:.4f} (best pruned {bests['median']:.4f}, "
            f"unpruned {bests['none']:.4f})"
        )
        for pruner, study in studies.items():
            reach, total = compute_to_reach(study, target, args.epochs)
            n_pruned = sum(t.state.name == "PRUNED" for t in study.get_trials())
            totals[pruner][0] += reach
            totals[pruner][1] += total
            print(
                f"  pruner {pruner:6s}: {reach:5.2f} trials-worth to reach it, {total:5.2f} "
                f"in all ({n_pruned} pruned), wall {walls[pruner]:6.1f} s"
            )
    ratio = totals["median"][0] / totals["none"][0]
    print(
        f"\ncompute to reach the same best value, pruned / unpruned: {ratio:.2f}x "
        f"(goal <= 0.5x); whole sweeps: {totals['median'][1] / totals['none'][1]:.2f}x; "
        f"{load_average()}"
    )


if __name__ == "__main__":
    main()
