"""Render a report: execute ``report.ipynb`` with Papermill, convert it to one HTML page.

The page is the executed notebook's HTML outputs only (no code, no prompts), inside a template
that loads nothing: no script, no MathJax, no require.js, no font or stylesheet from anywhere.
Images are inline ``data:`` URIs. The page is scrubbed of secrets and checked for external
references before it is written (atomically) to ``reports/<experiment>/<timestamp>.html`` and
copied to ``reports/<experiment>/index.html``; ``reports/index.html`` is then rebuilt.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loclab.exceptions import LoclabError
from loclab.io import write_text
from loclab.nbexec import CellError, execute_notebook
from loclab.paths import StateDir
from loclab.results import ExperimentResults

__all__ = [
    "METADATA_MIME",
    "ReportError",
    "ReportResult",
    "check_offline",
    "render_report",
    "report_template",
    "scrub_html",
]

TEMPLATE_DIR = Path(__file__).parent / "template"
#: The report notebook shipped with loclab (a project may keep its own, see
#: :func:`report_template`).
PACKAGED_NOTEBOOK = TEMPLATE_DIR / "report.ipynb"
#: The notebook's last output: what the reports index shows about the report.
METADATA_MIME = "application/vnd.loclab.report+json"
#: Where a project may keep a report notebook of its own.
TEMPLATE_NOTEBOOK = Path("notebooks") / "templates" / "report.ipynb"
#: A report cell that runs longer than this has hung (each takes seconds).
CELL_TIMEOUT_S = 600
_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+\-]+;base64,[A-Za-z0-9+/=]+")
_TAG = re.compile(r"<[A-Za-z][^>]*>")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>|\bstyle\s*=\s*\"([^\"]*)\"", re.I | re.S)
_ATTR = re.compile(r"""([A-Za-z_:][\w:.\-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")
_LOADING_TAGS = re.compile(
    r"^<(?:script|link|iframe|object|embed|base|frame|frameset|applet|meta\s[^>]*refresh)\b", re.I
)
_URL_ATTRS = {"src", "href", "action", "formaction", "poster", "srcset", "data", "background"}
_REMOTE = re.compile(r"^\s*(?:(?:https?|ftp|javascript|vbscript):|//)", re.I)
_IN_STYLES = [
    (re.compile(r"@import", re.I), "a CSS @import"),
    (re.compile(r"url\(\s*['\"]?\s*(?!data:|#)", re.I), "a CSS url() that is not inline data"),
]


class ReportError(LoclabError):
    """The report could not be rendered."""


@dataclass(frozen=True)
class ReportResult:
    """A written report.

    Attributes:
        path: ``reports/<experiment>/<timestamp>.html``.
        latest: ``reports/<experiment>/index.html`` (a copy of ``path``).
        index: ``reports/index.html``.
        size: Bytes of the page.
        seconds: Time it took to render.
        headline: The headline shown in the index.
        reused: True when nothing it is made from changed and the existing page was kept.
    """

    path: Path
    latest: Path
    index: Path
    size: int
    seconds: float
    headline: str
    reused: bool = False


def report_template(project_root: Path | None = None) -> Path:
    """The report notebook: the project's own, else the one shipped inside the package.

    A project may keep ``notebooks/templates/report.ipynb``; without one (an installed wheel,
    a new project) the packaged notebook renders the report.
    """
    if project_root is not None and (project_root / TEMPLATE_NOTEBOOK).is_file():
        return project_root / TEMPLATE_NOTEBOOK
    return PACKAGED_NOTEBOOK


def scrub_html(page: str) -> str:
    """Scrub secrets from a page, leaving inline images (base64 data) untouched."""
    from loclab.security import scrub

    out, last = [], 0
    for m in _DATA_URI.finditer(page):
        out.append(scrub(page[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(scrub(page[last:]))
    return "".join(out)


def check_offline(page: str) -> list[str]:
    """What in a page could load or run something (empty when the page is self-contained)."""
    text = _DATA_URI.sub("data:", page)
    found = []
    for m in _TAG.finditer(text):
        element = m.group(0)
        if _LOADING_TAGS.search(element):
            found.append(f"an element that loads or runs something: {element[:120]}")
        for name, value in _ATTR.findall(element):
            name = name.lower()
            if name.startswith("on"):
                found.append(f"an inline event handler: {element[:120]}")
            elif name in _URL_ATTRS and _REMOTE.search(value.strip("\"'")):
                found.append(f"an attribute loading a URL: {element[:120]}")
            elif name == "http-equiv" and "refresh" in value.lower():
                found.append(f"a meta refresh: {element[:120]}")
    for m in _STYLE.finditer(text):
        css = m.group(1) or m.group(2) or ""
        for pattern, what in _IN_STYLES:
            hit = pattern.search(css)
            if hit:
                found.append(f"{what}: {css[max(0, hit.start() - 30) : hit.end() + 60]}")
    return found


def _css() -> str:
    return (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")


def _stamp(folder: Path) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, n = stamp, 1
    while (folder / f"{candidate}.html").exists():
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def _metadata(nb: Any) -> dict[str, Any]:
    for cell in reversed(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if METADATA_MIME in data:
                value = data[METADATA_MIME]
                return json.loads(value) if isinstance(value, str) else dict(value)
    return {}


def _execute(template: Path, out: Path, parameters: dict[str, Any], cwd: Path) -> None:
    try:
        execute_notebook(
            template, out, parameters, cwd=cwd, cell_timeout=CELL_TIMEOUT_S, quiet_kernel=True
        )
    except CellError as err:
        raise ReportError(
            f"the report notebook failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
        ) from None


def _convert(nb: Any, title: str) -> str:
    from nbconvert import HTMLExporter

    from loclab import __version__

    for cell in nb.cells:  # the index's metadata is not part of the page
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if METADATA_MIME not in o.get("data", {})]
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]  # nbconvert is untyped
        template_file=str(TEMPLATE_DIR / "page.html"),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"loclab": {"title": title, "css": _css(), "version": __version__}}
    )
    return body


def render_report(
    experiment: str,
    state: StateDir,
    reports_dir: Path,
    *,
    template: Path | None = None,
    project_root: Path | None = None,
    reuse: bool = True,
) -> ReportResult:
    """Render the report of an experiment's stored records; nothing is trained or re-run.

    Args:
        experiment: The experiment's name.
        state: The state folder holding ``results/<experiment>``.
        reports_dir: The reports folder.
        template: The report notebook (default: :func:`report_template`).
        project_root: The project (its report notebook, the kernel's working folder).
        reuse: Keep the latest page when its records, notebook and code are unchanged.

    Raises:
        NoResultsError: Nothing is stored for the experiment.
        ReportError: The notebook failed, or the page would load something from outside.
    """
    from loclab import __version__
    from loclab._imports import skip_slow_optional_imports
    from loclab.report.context import NoResultsError
    from loclab.report.index import add_entry, board_fields, locked, write_index
    from loclab.results import status_board
    from loclab.security import scrub_mapping, scrub_notebook_file

    started = time.time()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", experiment) or ".." in experiment:
        raise ReportError(f"experiment name {experiment!r} cannot name a reports folder")
    records = ExperimentResults(state, experiment)
    if not records.exists():
        raise NoResultsError(
            f"no stored results for experiment '{experiment}' in {records.folder}; "
            "run the experiment first (loclab run SPEC)"
        )
    template = template or report_template(project_root)
    folder = reports_dir / experiment
    key = report_key(records, template)
    if reuse:
        found = _unchanged(folder, key, started)
        if found is not None:
            return found
    skip_slow_optional_imports()
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(folder)
    files = f"{stamp}_files"
    parameters = {
        "experiment": experiment,
        "state_dir": str(state.root),
        "attachments": str(folder / files),
        "attachments_href": files,
    }
    with tempfile.TemporaryDirectory(prefix="loclab-report-") as tmp:
        executed = Path(tmp) / "report.ipynb"
        try:
            _execute(template, executed, parameters, project_root or template.parent)
        except ReportError as err:
            kept = records.report_failed_file
            if executed.exists():
                kept.parent.mkdir(parents=True, exist_ok=True)
                executed.replace(kept)
                scrub_notebook_file(kept)
                raise ReportError(f"{err}; executed notebook: {kept}") from None
            raise
        nb = nbformat.read(str(executed), as_version=4)  # type: ignore[no-untyped-call]
    meta = scrub_mapping(_metadata(nb))  # it goes to reports.json as it is
    title = str(meta.get("title") or experiment)
    page = scrub_html(_convert(nb, title))
    problems = check_offline(page)
    if problems:
        raise ReportError("the report page is not self-contained: " + "; ".join(problems))
    path = folder / f"{stamp}.html"
    write_text(path, page)
    latest = folder / "index.html"
    write_text(latest, page)
    entry = {
        "file": path.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "created_ts": time.time(),
        "title": title,
        "headline": str(meta.get("headline") or ""),
        "labels": list(meta.get("labels") or []),
        "status": str(meta.get("status") or ""),
        "counts": dict(meta.get("counts") or {}),
        "board": board_fields(status_board(state, experiment)),
        "git_sha": meta.get("git_sha"),
        "bytes": len(page.encode("utf-8")),
        "inputs_key": key,
    }
    with locked(reports_dir):
        add_entry(folder, entry)
        index = write_index(reports_dir, _css(), __version__)
    return ReportResult(
        path=path,
        latest=latest,
        index=index,
        size=entry["bytes"],
        seconds=time.time() - started,
        headline=entry["headline"],
    )


#: The code a report page depends on (with the notebook and the records it reads).
REPORT_CODE = ("report", "results")


def report_key(records: ExperimentResults, template: Path) -> str:
    """Content address of a report: equal keys render equal pages.

    It covers every record file (notebook copies included), the report notebook and the
    report code.
    """
    import hashlib

    from loclab import __version__
    from loclab.io import source_fingerprint

    h = hashlib.sha256()
    folder = records.folder
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path == records.report_failed_file:
            continue
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    h.update(template.read_bytes())
    h.update(source_fingerprint(REPORT_CODE).encode())
    h.update(__version__.encode())
    return h.hexdigest()


def _unchanged(folder: Path, key: str, started: float) -> ReportResult | None:
    """The latest page, if it was rendered from exactly these inputs and is still there."""
    from loclab.report.index import read_manifest

    entries = read_manifest(folder)
    latest = folder / "index.html"
    if not entries or entries[0].get("inputs_key") != key or not latest.is_file():
        return None
    entry = entries[0]
    return ReportResult(
        path=folder / str(entry["file"]),
        latest=latest,
        index=folder.parent / "index.html",
        size=int(entry.get("bytes") or latest.stat().st_size),
        seconds=time.time() - started,
        headline=str(entry.get("headline") or ""),
        reused=True,
    )
