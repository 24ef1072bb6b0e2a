"""Speed and memory of loclab.stats against the reference implementations, side by side.

Run with the project's interpreter (``.venv/bin/python benchmarks/stats_speed.py``); ``--quick``
scales the scipy comparison down from n = 100,000 to n = 10,000 (scipy needs minutes at full
size). Prints one table of timings, speed-ups and agreement; no numbers are asserted.

Comparisons:

1. ``paired_permutation_test`` vs ``scipy.stats.permutation_test`` (sign flips, statistic =
   mean of differences, ``vectorized=True``, 10,000 resamples; scipy runs in batches of 500
   resamples so it fits in memory).
2. Corpus-BLEU approximate randomization vs sacrebleu's ``paired_ar`` on WMT17 en-de, 15
   systems against LIUM-NMT, 10,000 trials, ``tokenize='none'``.
3. ``aso`` vs deepsig's ``aso`` at n = 1,000 scores per system (when deepsig is installed).
4. Peak memory of ``paired_permutation_test`` with 1,000,000 examples x 10,000 resamples,
   in a fresh subprocess (ru_maxrss, and VmHWM, which unlike ru_maxrss does not inherit the
   parent's peak).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

import loclab.stats as ls

WMT17 = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "wmt17_en_de_systems.tsv.gz"
)
ROWS: list[tuple[str, str, str, str, str]] = []


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def row(name: str, ours: float, ref: float | None, agreement: str) -> None:
    ratio = f"{ref / ours:,.1f}x" if ref else "-"
    ref_s = f"{ref:,.2f}" if ref else "-"
    ROWS.append((name, f"{ours:,.3f}", ref_s, ratio, agreement))
    print(f"  {name}: loclab {ours:.3f} s, reference {ref_s} s, {ratio}; {agreement}", flush=True)


def bench_permutation(n: int, n_resamples: int) -> None:
    from scipy import stats

    print(f"[1] paired permutation test, n = {n:,}, {n_resamples:,} resamples", flush=True)
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, n)
    b = a + rng.normal(0.4 / np.sqrt(n), 1.0, n)  # about 1.5 standard errors apart
    ours, t_ours = timed(ls.paired_permutation_test, a, b, n_resamples=n_resamples, seed=1)
    ref, t_ref = timed(
        stats.permutation_test,
        (a - b,),
        lambda d, axis: np.mean(d, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        batch=500,
        rng=np.random.default_rng(2),
    )
    mc_sd = np.sqrt(ref.pvalue * (1 - ref.pvalue) / n_resamples)
    row(
        f"paired_permutation_test vs scipy.stats.permutation_test (n={n:,})",
        t_ours,
        t_ref,
        f"p {ours.p_value:.4f} vs {ref.pvalue:.4f} (|diff| {abs(ours.p_value - ref.pvalue):.4f}, "
        f"MC sd of each {mc_sd:.4f})",
    )


def bench_corpus_ar(n_trials: int) -> None:
    print(f"[2] corpus BLEU approximate randomization, WMT17, {n_trials:,} trials", flush=True)
    if not WMT17.exists():
        print(f"  skipped: {WMT17} not found")
        return
    import pandas as pd
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    df = pd.read_csv(WMT17, sep="\t", quoting=csv.QUOTE_MINIMAL, keep_default_na=False)
    texts = {
        str(k): g.sort_values("segment")["text"].tolist()
        for k, g in df.groupby("system", sort=False)
    }
    refs = texts.pop("reference")
    named = [("LIUM-NMT", texts["LIUM-NMT"])] + [
        (k, v) for k, v in texts.items() if k != "LIUM-NMT"
    ]

    start = time.perf_counter()
    metric = ls.BleuMetric(tokenize="none")
    stats_ = {k: metric.segment_statistics(v, refs) for k, v in named}
    t_extract = time.perf_counter() - start
    start = time.perf_counter()
    ours = {
        k: ls.corpus_metric_test(
            stats_[k], stats_["LIUM-NMT"], metric, n_resamples=n_trials, ci_resamples=0
        ).p_value
        for k, _ in named[1:]
    }
    t_test = time.perf_counter() - start

    sb_metric = BLEU(tokenize="none", references=[refs])
    start = time.perf_counter()
    for _, hyps in named:
        sb_metric._extract_corpus_statistics(hyps, None)
    t_sb_extract = time.perf_counter() - start
    start = time.perf_counter()
    _, scores = PairedTest(
        named, {"BLEU": BLEU(tokenize="none", references=[refs])}, references=None,
        test_type="ar", n_samples=n_trials,
    )()  # fmt: skip
    t_sb = time.perf_counter() - start
    theirs = {name: r.p_value for name, r in zip(scores["System"], scores["BLEU"], strict=True)}
    diffs = [abs(ours[k] - theirs[k]) for k in ours]
    agreement = f"max |p diff| over 15 systems {max(diffs):.4f}"
    row("corpus BLEU AR, 15 systems, test only", t_test, max(t_sb - t_sb_extract, 1e-9), agreement)
    row("corpus BLEU AR, 15 systems, incl. statistics", t_test + t_extract, t_sb, agreement)
    _, t_ci = timed(
        ls.corpus_metric_test, stats_["xmu"], stats_["LIUM-NMT"], metric, n_resamples=n_trials
    )
    print(f"  (one pair with the default 1,000-resample bootstrap interval: {t_ci:.3f} s)")


def bench_aso(n: int) -> None:
    print(f"[3] ASO, n = {n:,} per system", flush=True)
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.1, 1.0, n), rng.normal(0.0, 1.0, n)
    ours, t_ours = timed(ls.aso, a, b, seed=0)
    if importlib.util.find_spec("deepsig") is None:
        row(f"aso (n={n:,})", t_ours, None, "deepsig not installed")
        return
    from deepsig import aso as deepsig_aso

    theirs, t_ref = timed(deepsig_aso, a, b, seed=0, show_progress=False)
    row(
        f"aso vs deepsig.aso (n={n:,})",
        t_ours,
        t_ref,
        f"eps_min {ours.eps_min:.4f} vs {float(theirs):.4f} "
        f"(|diff| {abs(ours.eps_min - float(theirs)):.4f})",
    )


def bench_memory(n: int, n_resamples: int) -> None:
    print(f"[4] peak memory, n = {n:,} x {n_resamples:,} resamples", flush=True)
    code = textwrap.dedent(
        f"""
        import resource, time
        import numpy as np
        import loclab.stats as ls
        rng = np.random.default_rng(0)
        a = rng.normal(size={n}); b = a + rng.normal(0.001, 1.0, size={n})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        res = ls.paired_permutation_test(a, b, n_resamples={n_resamples})
        took = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux carries ru_maxrss over from the parent at fork; VmHWM starts afresh at exec.
        hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")]
        print(before, peak, hwm[0] if hwm else peak, took)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, peak, hwm, took = out.stdout.split()
    peak_mib, hwm_mib, before_mib = int(peak) / 1024, int(hwm) / 1024, int(before) / 1024
    note = (
        f"ru_maxrss {peak_mib:,.0f} MiB, VmHWM {hwm_mib:,.0f} MiB (before the test "
        f"{before_mib:,.0f} MiB; limit 2,048 MiB)"
    )
    ROWS.append(
        (f"peak memory, permutation test {n:,} x {n_resamples:,}", f"{float(took):,.2f}", "-",
         "-", note)
    )  # fmt: skip
    print(f"  {float(took):.2f} s; {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 10,000 for the scipy comparison")
    parser.add_argument("--skip", nargs="*", default=[], choices=["perm", "ar", "aso", "memory"])
    args = parser.parse_args()
    # Memory first: a child inherits the parent's ru_maxrss, so measure while ours is small.
    if "memory" not in args.skip:
        bench_memory(1_000_000, 10_000)
    if "perm" not in args.skip:
        bench_permutation(10_000 if args.quick else 100_000, 10_000)
    if "ar" not in args.skip:
        bench_corpus_ar(10_000)
    if "aso" not in args.skip:
        bench_aso(1_000)
    widths = [max(len(r[i]) for r in [*ROWS, HEADER]) for i in range(5)]
    print()
    for r in [HEADER, tuple("-" * w for w in widths), *ROWS]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


HEADER = ("benchmark", "loclab [s]", "reference [s]", "speed-up", "agreement / note")

if __name__ == "__main__":
    main()
