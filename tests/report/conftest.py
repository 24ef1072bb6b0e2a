"""Fixtures of the report tests: real runs (quickstart, a hostile probe) and planted secrets.

Fake secrets are assembled at run time, so no key-shaped literal is ever committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from loclab.paths import StateDir
from loclab.results import ExperimentResults
from loclab.testing import write_notebook

REPO = Path(__file__).resolve().parents[2]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class Secrets:
    """Fake credentials of every kind the scrubber knows, and text that plants them."""

    access_key: str = "AKIA" + "Q" * 12 + "7X2Z"
    session_key: str = "ASIA" + "W" * 16
    secret_key: str = "wJalrXUtnFEMI" + "K7MDENG" + "bPxRfiCYEXAMPLEKEY" + "x1"
    session_token: str = "FwoGZXIvYXdz" + "EJr" + "A1b2C3d4" * 8
    password: str = "hunter2-" + "correct-horse"
    bearer: str = "eyJhbGciOiJIUzI1NiJ9" + ".payload" + "Z" * 10
    private_key: str = (
        "-----BEGIN "
        + "RSA PRIVATE KEY-----\nMIIEow"
        + "IBAAKCAQEA" * 4
        + ("\n-----END " + "RSA PRIVATE KEY-----")
    )
    url_password: str = "s3cr3t-" + "db-pass"

    def lines(self) -> list[str]:
        """Ways a secret leaks into output: assignments, headers, URLs, key blocks."""
        return [
            f"aws_access_key_id = {self.access_key}",
            f"temporary key {self.session_key}",
            f"AWS_SECRET_ACCESS_KEY={self.secret_key}",
            f"aws_session_token: {self.session_token}",
            f"password={self.password}",
            f"Authorization: Bearer {self.bearer}",
            f"postgresql://loclab:{self.url_password}@db.internal:5432/x",
            self.private_key,
        ]

    def values(self) -> list[str]:
        """The secret parts that must never appear (the key block by its body)."""
        return [self.access_key, self.session_key, self.secret_key, self.session_token,
                self.password, self.bearer, self.url_password, "IBAAKCAQEAIBAAKCAQEA"]  # fmt: skip


@pytest.fixture(scope="session")
def secrets() -> Secrets:
    return Secrets()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a loclab subprocess: no developer tracking server or state folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))}
    env.update(extra)
    return env


def loclab(*args: str, cwd: Path, env: dict[str, str], timeout: float = 900):
    return subprocess.run(
        [sys.executable, "-m", "loclab", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


@dataclass(frozen=True)
class Run:
    """An experiment that ran once: where its state, reports and output are."""

    root: Path
    spec: Path
    state: Path
    reports: Path
    experiment: str
    stdout: str
    returncode: int

    def env(self) -> dict[str, str]:
        return clean_env(LOCLAB_STATE_DIR=str(self.state))

    def page(self) -> str:
        return (self.reports / self.experiment / "index.html").read_text(encoding="utf-8")

    def records(self) -> ExperimentResults:
        """The experiment's stored records (read them typed, as the report does)."""
        return ExperimentResults(StateDir(self.state), self.experiment)


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The real quickstart (two epochs), run once per session with `loclab run`."""
    tmp = tmp_path_factory.mktemp("quickstart")
    state, reports = tmp / "state", tmp / "reports"
    env = clean_env(LOCLAB_STATE_DIR=str(state))
    spec = REPO / "experiments" / "quickstart.yaml"
    out = loclab("run", str(spec), "--reports-dir", str(reports), "-p", "max_epochs=2",
                 cwd=REPO, env=env)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return Run(REPO, spec, state, reports, "quickstart", out.stdout, out.returncode)


HOSTILE_PARAMS = """x: float = 1.0  # how good the system is (share of examples it gets right)
seed: int = 0  # training seed
mode: str = "ok"  # ok, or raise to fail (after printing) when the seed is 1
note: str = "plain"  # free text printed by the notebook"""

HOSTILE_CELLS = [
    "import os\n\nimport pandas as pd\n\nfrom loclab import runtime\n\nctx = runtime.context()\n"
    "print(note)\nprint(os.environ.get('PLANTED', ''))",
    "from IPython.display import HTML, display\n\n"
    "display(HTML(os.environ.get('PLANTED_HTML', '')))",
    "if mode == 'raise' and seed == 1:\n"
    "    raise ValueError(os.environ.get('PLANTED_FAILURE', 'boom'))",
    "n = 40\nterms = [os.environ.get('PLANTED_TERM', 't'), 'plain term']\n"
    "correct = [int((i * 7 + seed) % 10 < 10 * x) for i in range(n)]\n"
    "runtime.set_tags({'loclab.data_fingerprint': 'hostile-data'})\n"
    "runtime.write_predictions(pd.DataFrame({'example_id': [f'e{i}' for i in range(n)], "
    "'label': [1] * n, 'prediction': correct, 'score': correct, 'correct': correct, "
    "'term': [terms[i % 2] for i in range(n)]}))\n"
    "runtime.log_metrics({'test_acc': sum(correct) / n})",
]


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, secrets: Secrets) -> Run:
    """A comparison whose spec, labels, parameters, outputs and failures carry hostile markup
    and planted secrets; one of its four jobs fails (evil, seed 1)."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    write_notebook(root / "notebooks" / "hostile.ipynb", HOSTILE_PARAMS, HOSTILE_CELLS)
    note = f"{SCRIPT} {IMG} password={secrets.password} key {secrets.access_key}"
    spec = root / "experiments" / "hostile.yaml"
    spec.parent.mkdir()
    spec.write_text(
        f"""name: hostile
description: "{SCRIPT} Is {IMG} better? aws_secret_access_key={secrets.secret_key}"
notebook: notebooks/hostile.ipynb
params: {{note: "{note}"}}
compare:
  systems:
    base: {{role: baseline, label: "<b>base</b> & co", params: {{x: 0.5}}}}
    evil: {{label: "{SCRIPT} {IMG}", params: {{x: 0.9, mode: raise}}}}
  seeds: [0, 1]
  breakdowns: [term]
  practical_threshold: 0.05
report:
  title: "{SCRIPT} hostile report"
"""
    )
    state, reports = root / ".loclab", root / "reports"
    env = clean_env(
        LOCLAB_STATE_DIR=str(state),
        PLANTED="\n".join([SCRIPT, IMG, *secrets.lines()]),
        PLANTED_HTML=f"{SCRIPT}{IMG} token={secrets.bearer}",
        PLANTED_FAILURE=f"{SCRIPT} {IMG} failed; Authorization: Bearer {secrets.bearer}",
        PLANTED_TERM=IMG,
    )
    out = loclab("run", str(spec), cwd=root, env=env, timeout=600)
    # One system fails on purpose: loclab run exits 1 and still writes the report.
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]
    assert (reports / "hostile" / "index.html").exists(), out.stdout[-3000:]
    # The other jobs completed and were compared.
    assert (state / "results" / "hostile" / "comparison.json").exists(), out.stdout[-3000:]
    return Run(root, spec, state, reports, "hostile", out.stdout, out.returncode)
