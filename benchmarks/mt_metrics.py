"""Time to score the 16 WMT17 en-de systems with BLEU, chrF, chrF++ and TER; file sizes.

Scores every system of ``../shared/data/wmt17_en_de_systems.tsv.gz`` (3,004 segments) with
``loclab.data.mt.score_outputs`` in one process and with worker processes, writes the statistics
as a job does (``corpus_stats/<metric>.parquet`` + ``.json``) and prints their sizes. With
``--check`` every corpus score is compared with sacrebleu's own (``==``, not approximately).

Run: nice -n 10 .venv/bin/python benchmarks/mt_metrics.py [--jobs 1 2] [--check]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from loclab.compare import write_corpus_statistics
from loclab.data.mt import (
    MTOutputs,
    SegmentStatistics,
    mt_metric,
    read_mt_outputs,
    score_outputs,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED / "wmt17_en_de_systems.tsv.gz"
METRICS = ("bleu", "chrf", "chrfpp", "ter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument("--check", action="store_true", help="compare with sacrebleu")
    args = parser.parse_args()
    start = time.perf_counter()
    outputs = read_mt_outputs(DATA)
    print(
        f"read {len(outputs.systems)} systems x {outputs.n_segments:,} segments in "
        f"{time.perf_counter() - start:.2f} s"
    )
    scored: dict[str, SegmentStatistics] = {}
    for n_jobs in args.jobs:
        times, cpu = {}, {}
        for key in METRICS:
            start, start_cpu = time.perf_counter(), _cpu()
            scored.update(score_outputs(outputs, [key], n_jobs=n_jobs))
            times[key], cpu[key] = time.perf_counter() - start, _cpu() - start_cpu
        shown = ", ".join(f"{k} {times[k]:.1f} s / {cpu[k]:.1f} CPU-s" for k in METRICS)
        print(
            f"n_jobs={n_jobs}: all four {sum(times.values()):.1f} s wall, "
            f"{sum(cpu.values()):.1f} CPU-s ({shown}); load average {os.getloadavg()[0]:.1f}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for key, found in scored.items():
            write_corpus_statistics(
                Path(tmp), key, found.frame, options=found.options,
                reference=outputs.reference_label, signature=found.signature,
            )  # fmt: skip
        for path in sorted((Path(tmp) / "corpus_stats").iterdir()):
            print(f"{path.name}: {path.stat().st_size / 1024:.1f} KiB")
    for key, found in scored.items():
        print(f"{key}: {found.signature}")
    if args.check:
        _check(outputs, scored)


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _check(outputs: MTOutputs, scored: dict[str, SegmentStatistics]) -> None:
    streams = outputs.reference_streams()
    for key, found in scored.items():
        sacre = mt_metric(key, **found.options)._sacrebleu(streams)
        ours = found.corpus_scores()
        for name, hyps in outputs.systems.items():
            want = sacre.corpus_score(list(hyps), None).score
            assert ours[name] == want, (key, name, ours[name], want)
        print(f"{key}: {len(ours)} corpus scores equal sacrebleu's exactly")


if __name__ == "__main__":
    main()
