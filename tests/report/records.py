"""Small but complete result records for the report's section tests, built through the
``loclab.results`` models and stored with ``ExperimentResults``' writers (as every stage
stores them). Hostile markup and a planted password ride along in labels, values and the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loclab.paths import StateDir
from loclab.results import (
    Answer,
    BreakdownRow,
    Breakdowns,
    ComparisonEntry,
    ComparisonRecord,
    EpochMetrics,
    ExperimentResults,
    Family,
    JobRecord,
    JobsRecord,
    MetricInfo,
    MetricSummary,
    MissingJob,
    RankingGroup,
    RankingRecord,
    SweepRecord,
    SystemSummary,
    TrialCounts,
    TrialRecord,
    Winner,
)
from loclab.spec import Spec
from loclab.testing import write_notebook

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PASSWORD = "p4ss-" + "word"
EXPERIMENT = "demo"
DECISIONS = ["better", "worse", "no difference", "too close to call"]
#: The earlier wording of each decision (records keep it as ``label``).
LEGACY = {"better": "better", "worse": "worse", "no difference": "no detectable difference",
          "too close to call": "needs more data"}  # fmt: skip
#: A caveat two comparisons share: the report says it once.
CAVEAT = "Training noise was not measured: s1 label ran once."


def spec(audience: str = "stakeholders", *, sweep: bool = True) -> Spec:
    """The spec as run: hostile description and title, a secret parameter, a sweep space."""
    data: dict[str, Any] = {
        "name": EXPERIMENT,
        "description": f"Is {SCRIPT} better?",
        "notebook": "notebooks/demo.ipynb",
        "params": {"note": IMG, "db_password": PASSWORD},
        "report": {"title": f"Demo {SCRIPT}", "audience": audience},
    }
    if sweep:
        data["sweep"] = {
            "metric": "val_acc",
            "n_trials": 6,
            "pruner": "median",
            "space": {
                "lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
                "hidden": {"type": "categorical", "choices": [32, 64]},
            },
        }
    return Spec.model_validate(data)


def verdict(system: str, decision: str, est: float, p: float, *,
            family: str = "confirmatory", metric: str = "accuracy", family_size: int = 3,
            warnings: list[str] | None = None) -> ComparisonEntry:  # fmt: skip
    """One candidate against the baseline, with the fields the statistics add (power, mde...)."""
    p_adj = min(1.0, p * family_size)
    level = 1 - 0.05 * p / p_adj
    thr = 0.02 if family == "confirmatory" else 0.0
    return ComparisonEntry(
        system=system, baseline="base", system_label=f"{system} label",
        baseline_label="base label", metric=metric, metric_name=metric, family=family,
        label=LEGACY[decision], decision=decision, estimate=est,
        ci=(est - 0.02, est + 0.02), ci_level=level, ci_unadjusted=(est - 0.015, est + 0.015),
        p_value=p, p_adjusted=p_adj, chance=f"about 1 time in {round(1 / p)}",
        kind="binary", test="bootstrap", test_reason="paired examples, several seeds",
        method="two-level bootstrap", warnings=warnings or [],
        sentence=f"{system} label minus base label on {metric}: {100 * est:+.1f} points on 200 "
                 f"test examples. For this comparison alone p = {p}: a gap this large would "
                 f"appear by chance about 1 time in {round(1 / p)} if the systems were "
                 f"equally good. Verdict: {decision}. (\"{decision.capitalize()}\" means "
                 "unlikely to be chance, not large.)",
        n_examples=200, n_seeds={"system": 2, "baseline": 2},
        variance={"seed_sd_system": 0.01, "seed_sd_baseline": 0.0, "seed_share": 0.4},
        deterministic={"system": False, "baseline": True},
        result={"summary": f"bootstrap summary of {system}: A minus B"},
        per_seed={"summary": f"per-seed summary of {system}"} if family == "confirmatory"
        else None,
        alpha=0.05, correction="holm", family_size=family_size, power=0.5, mde=0.03,
        threshold=thr, higher_is_better=True, clears_threshold=est >= thr if thr else None,
        gain_ruled_out=est + 0.02 < thr if thr else None, scale=100.0, scale_unit="points",
        digits=1,
    )  # fmt: skip


def system(name: str, mean: float, seeds: list[float], label: str | None = None) -> SystemSummary:
    per = {str(i): v for i, v in enumerate(seeds)}
    return SystemSummary(
        name=name, label=label or f"{name} label", role="candidate", n_seeds=len(seeds),
        seeds=list(range(len(seeds))), jobs=[f"demo-{name}-s{i}" for i in range(len(seeds))],
        metrics={
            "accuracy": MetricSummary(mean=mean, ci=(mean - 0.01, mean + 0.01), n=len(seeds),
                                      name="accuracy", source="predictions", per_seed=per),
            # The same numbers as the compared metric: not repeated as a column.
            "test_acc": MetricSummary(mean=mean, n=len(seeds), source="final", per_seed=per),
            "test_f1": MetricSummary(mean=mean - 0.1, n=len(seeds), source="final",
                                     per_seed={"0": 0.5}),
        },
    )  # fmt: skip


def comparison(n_candidates: int = 3, *, ranked: bool = True,
               secondary: bool = False) -> ComparisonRecord:  # fmt: skip
    """Candidates ``s0``... against ``base`` on accuracy (and on F1 as a secondary family)."""
    cands = [f"s{i}" for i in range(n_candidates)]
    comps = [verdict(s, DECISIONS[i % 4], 0.03 - 0.02 * i, 0.01 * (i + 1),
                     family_size=n_candidates, warnings=[CAVEAT] if i < 2 else [])
             for i, s in enumerate(cands)]  # fmt: skip
    metrics = [MetricInfo(key="accuracy", name="accuracy", source="predictions", kind="binary",
                          role="confirmatory", scale=100.0, scale_unit="points", digits=1,
                          percent=True)]  # fmt: skip
    families = [Family(metric="accuracy", metric_name="accuracy", role="confirmatory",
                       correction="holm", family_size=n_candidates, alpha=0.05, threshold=0.02,
                       systems=cands, summary=f"{n_candidates} comparisons (Holm).")]  # fmt: skip
    if secondary:
        comps += [verdict(s, "no difference", 0.01, 0.5, family="secondary",
                          metric="f1", family_size=n_candidates) for s in cands]  # fmt: skip
        metrics.append(MetricInfo(key="f1", name="f1", source="predictions", kind="continuous",
                                  role="secondary"))  # fmt: skip
        families.append(Family(metric="f1", metric_name="f1", role="secondary",
                               correction="holm", family_size=n_candidates, alpha=0.05,
                               threshold=0.0, systems=cands,
                               summary="No difference on F1."))  # fmt: skip
    names = ["base", *cands]
    systems = [system("base", 0.7, [0.69, 0.71]),
               *[system(s, 0.7 + (c.estimate or 0.0), [0.7, 0.72])
                 for s, c in zip(cands, comps[:n_candidates], strict=True)]]  # fmt: skip
    cells = [("de", 0.1, 0.02), ("fr", 0.0, 0.9), (IMG, 0.02, 0.5), ("ja", -0.03, 0.4)]
    ranking = RankingRecord(
        metric="accuracy", metric_name="accuracy", kind="binary", systems=names,
        scores=[0.72 - 0.01 * i for i in range(len(names))],
        groups=[RankingGroup(group=g + 1, letter="ab"[g], systems=part,
                             labels=[f"{n} label" for n in part])
                for g, part in enumerate((names[:2], names[1:]))],
        group_of={n: 1 if i < 2 else 2 for i, n in enumerate(names)},
        # The second system sits between the two groups: it carries both letters.
        letters_of={n: "a" if i == 0 else "ab" if i == 1 else "b" for i, n in enumerate(names)},
        method="pairwise bootstrap", correction="holm", family_size=6,
        summary="Ranking, best first; systems sharing a letter cannot be told apart.",
    )  # fmt: skip
    return ComparisonRecord(
        experiment=EXPERIMENT, created="2027-01-01T00:00:00", mode="jobs", baseline="base",
        baseline_label="base label", primary_metric="accuracy", alpha=0.05, correction="holm",
        family_size=n_candidates, practical_threshold=0.02, n_examples=200,
        metrics=metrics, systems=systems, families=families, comparisons=comps,
        breakdowns=Breakdowns(
            metric="accuracy", columns=["locale"], correction="bh", family_size=4, alpha=0.05,
            note="Exploratory.",
            rows=[BreakdownRow(column="locale", value=v, system="s0", baseline="base",
                               metric="accuracy", kind="binary", n=50, estimate=e,
                               ci=(e - 0.05, e + 0.05), p_value=0.01, p_adjusted=pa,
                               significant=pa < 0.05, label="better", sentence=f"cell {v}")
                  for v, e, pa in cells],
        ),
        ranking=ranking if ranked and len(names) >= 3 else None,
        headline=f"Switch to s0 label: it scored 3.0 points higher than base label ({SCRIPT}).",
        answer=Answer(status="better", use="s0",
                      headline=f"Switch to s0 label: it scored 3.0 points higher ({SCRIPT})."),
        significance_note="Better means unlikely to be chance.",
        jobs=["demo-base-s0"], missing_jobs=[MissingJob(name="demo-s0-s1", system="s0",
                                                        state="FAILED", failure="broke")],
        mlflow_parent_run_id="p1",
    )  # fmt: skip


def sweep() -> SweepRecord:
    trials = []
    for i in range(6):
        state = "PRUNED" if i in (2, 4) else "FAIL" if i == 5 else "COMPLETE"
        value = None if state != "COMPLETE" else 0.6 + 0.02 * i
        steps = {0: 0.5 + 0.02 * i, 1: 0.55 + 0.02 * i} if state != "FAIL" else {}
        trials.append(TrialRecord(
            number=i, state=state, value=value, intermediate=steps, last_step=1,
            params={"lr": 10 ** (-3 + 0.3 * i), "hidden": [32, 64][i % 2]},
            failure=f"{SCRIPT} crashed" if state == "FAIL" else None, job=f"demo-t{i}-a1",
            run_dir=f"/nowhere/runs/demo/demo-t{i}-a1",
            job_tags={"loclab.data_fingerprint": "fp-sweep", "loclab.validation_examples": "288"},
        ))  # fmt: skip
    return SweepRecord(
        experiment=EXPERIMENT, study_name="demo", storage="/nowhere/demo.journal",
        storage_kind="journal", metric="val_acc", direction="maximize", n_trials=6,
        sampler="tpe", pruner="median", counts=TrialCounts(complete=3, pruned=2, failed=1),
        finished=True, winners=[
            Winner(rank=1, number=3, value=0.66, params={"lr": 0.0079, "hidden": 64}),
            Winner(rank=2, number=1, value=0.62, params={"lr": 0.002, "hidden": 64}),
        ],
        importances={"lr": 0.8, "hidden": 0.2}, importances_note="fANOVA over 3 trials",
        validation_examples=288,
        mlflow_run_id="sweep-run", trials=trials,
    )  # fmt: skip


def jobs(the_spec: Spec, *, failed_copy: str | None = None) -> JobsRecord:
    """Two jobs: one failed (hostile reason), one completed with a learning curve."""
    curve = [EpochMetrics(step=s, metrics={"val_acc": 0.6 + 0.05 * s, "train_loss": 1 - 0.2 * s})
             for s in range(3)]  # fmt: skip
    return JobsRecord(
        experiment=EXPERIMENT, spec_path="/nowhere/experiments/demo.yaml", spec=the_spec,
        status="FINISHED", started=1_799_999_000.0, ended=1_800_000_000.0,
        mlflow_parent_run_id="p1",
        provenance={"loclab.git_sha": "abc123", "loclab.git_dirty": "true",
                    "loclab.python": "3.11.7", "loclab.torch_version": "2.13.0",
                    "loclab.hostname": "host-1"},
        jobs=[
            JobRecord(name="demo-s0-s1", state="FAILED", system="s0", seed=1,
                      failure=f"{IMG} broke", tags={"loclab.system": "s0"},
                      job_tags={"loclab.data_fingerprint": "fp-1"},
                      run_dir="/nowhere/runs/demo/demo-s0-s1",
                      executed_notebook="/nowhere/runs/demo/demo-s0-s1/executed.ipynb",
                      notebook_copy=failed_copy),
            JobRecord(name="demo-base-s0", state="COMPLETED", system="base", seed=0,
                      started=1_799_999_100.0, ended=1_799_999_190.0, mlflow_run_id="job-run",
                      metrics={"test_acc": 0.7}, tags={"loclab.system": "base"}, epochs=curve,
                      run_dir="/nowhere/runs/demo/demo-base-s0"),
        ],
    )  # fmt: skip


def store(root: Path, *, jobs_record: JobsRecord | None = None,
          sweep_record: SweepRecord | None = None,
          comparison_record: ComparisonRecord | None = None) -> StateDir:  # fmt: skip
    """Write the records as the stages do; return the state folder."""
    state = StateDir(root / "state")
    results = ExperimentResults(state, EXPERIMENT)
    results.folder.mkdir(parents=True, exist_ok=True)
    if jobs_record is not None:
        results.write_jobs(jobs_record)
    if sweep_record is not None:
        results.write_sweep(sweep_record)
    if comparison_record is not None:
        results.write_comparison(comparison_record)
    return state


def keep_failed_notebook(root: Path, state: StateDir, name: str) -> str:
    """A failed job's executed notebook kept with the records (scrubbed), as the job stage does."""
    source = write_notebook(root / "executed.ipynb", "x: int = 1  # x", [
        f"print('{SCRIPT}')\nprint('password={PASSWORD}')\nraise ValueError('broke')"
    ])  # fmt: skip
    copy = ExperimentResults(state, EXPERIMENT).keep_notebook(name, source)
    assert copy is not None
    return copy
