"""A small, honest, self-contained HTML page of an experiment's job results.

No script, no external URL: one file that opens offline and by e-mail. Every value from data,
parameters or notebooks is HTML-escaped.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

__all__ = ["write_quick_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1d2430;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} .meta{color:#5b6472;font-size:.9rem}
table{border-collapse:collapse;margin:1rem 0;width:100%} th,td{padding:.35rem .6rem;
border-bottom:1px solid #d8dde5;text-align:left} td.num{text-align:right;
font-variant-numeric:tabular-nums} th{background:#f3f5f8}
.bad{color:#a3261b} .ok{color:#1d6b3a} footer{margin-top:2rem;color:#5b6472;font-size:.8rem}
@media print{body{margin:0;max-width:none}}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}"


def write_quick_report(exp: Any, summary: dict[str, Any], reports_dir: Path) -> Path:
    """Write ``reports/<experiment>/index.html``; return its path."""
    out_dir = reports_dir / summary["experiment"]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    jobs = summary["jobs"]
    by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in jobs:
        by_system[job.get("tags", {}).get("loclab.system", job["name"])].append(job)
    metric_names = sorted({m for job in jobs for m in job.get("metrics", {})})
    shown = [m for m in metric_names if m.startswith("test_")] or metric_names

    rows = []
    for system, items in by_system.items():
        cells = [f"<td>{_esc(system)}</td>", f"<td class='num'>{len(items)}</td>"]
        for metric in shown:
            values = [j["metrics"][metric] for j in items if metric in j.get("metrics", {})]
            cells.append(f"<td class='num'>{_fmt(mean(values) if values else None)}</td>")
        ok = all(j["state"] == "COMPLETED" for j in items)
        state = "completed" if ok else ", ".join(sorted({j["state"].lower() for j in items}))
        cells.append(f"<td class='{'ok' if ok else 'bad'}'>{_esc(state)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(f"<th>{_esc(m)}</th>" for m in shown)

    job_rows = []
    for job in jobs:
        link = os.path.relpath(job["executed_notebook"], out_dir)
        failure = f"<br><span class='bad'>{_esc(job['failure'])}</span>" if job.get(
            "failure"
        ) else ""
        job_rows.append(
            f"<tr><td>{_esc(job['name'])}</td><td>{_esc(job['state'])}{failure}</td>"
            f"<td class='num'>{job.get('ended', 0) - job.get('started', 0):.1f} s</td>"
            f"<td><a href='{_esc(link)}'>executed notebook</a></td></tr>"
        )
    prov = summary.get("provenance", {})
    sha = prov.get("loclab.git_sha", "unknown")
    dirty = " (uncommitted changes)" if prov.get("loclab.git_dirty") == "true" else ""
    fingerprints = sorted(
        {j.get("job_tags", {}).get("loclab.data_fingerprint", "") for j in jobs} - {""}
    )
    title = exp.spec.report.title or f"{summary['experiment']}: results"
    when = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(summary.get("ended", time.time())))
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="meta">{_esc(when)} · git {_esc(sha[:12])}{_esc(dirty)}</p>
<p>{_esc(exp.spec.description or "")}</p>
<h2>Systems</h2>
<table><thead><tr><th>system</th><th>runs</th>{header}<th>status</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p class="meta">Values are means over the runs of each system on the test split. This page
shows measurements only; it does not yet say whether a difference is real or chance.</p>
<h2>Jobs</h2>
<table><thead><tr><th>job</th><th>state</th><th>time</th><th>notebook</th></tr></thead>
<tbody>{"".join(job_rows)}</tbody></table>
<footer>
<p>Spec: {_esc(Path(summary["spec"]).name)} · MLflow parent run
{_esc(summary.get("mlflow_parent_run_id", ""))} · data fingerprint
{_esc(", ".join(f[:16] for f in fingerprints) or "n/a")}</p>
<p>Parameters as run: {_esc(json.dumps(summary.get("params", {}), sort_keys=True))}</p>
</footer>
</body></html>
"""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    return path
