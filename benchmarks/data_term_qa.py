"""Build time and composition of the CLDR terminology-QA data set, per size.

Run: .venv/bin/python benchmarks/data_term_qa.py [--seed 13]
"""

from __future__ import annotations

import argparse
import time

from loclab.data import SIZES, build_term_qa
from loclab.data.cldr import cldr_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    start = time.perf_counter()
    cldr_pairs()  # loads babel's locale files once; later builds reuse them
    print(f"CLDR load: {time.perf_counter() - start:.2f} s")
    for size in SIZES:
        start = time.perf_counter()
        dataset = build_term_qa(size=size, seed=args.seed)
        elapsed = time.perf_counter() - start
        frame = dataset.frame
        counts = frame["error_type"].value_counts().sort_index().to_dict()
        print(
            f"{size}: {len(frame)} examples in {elapsed:.2f} s; "
            f"{frame['source'].str.casefold().nunique()} terms, {frame['locale'].nunique()} "
            f"locales; positives {int(frame['label'].sum())}; by type {counts}; "
            f"splits {frame['split'].value_counts().to_dict()}; {dataset.fingerprint[:12]}"
        )


if __name__ == "__main__":
    main()
