"""Planted secrets: searched for in everything a real `loclab run` writes or prints.

A secret-named parameter given in the spec, another on the command line, a `${VAR}` value,
each printed by the notebook, written into a predictions column, raised in an exception and set
as a tag: none may appear in the state folder (records, run folders, job logs, executed
notebooks, MLflow's SQLite store and artifacts), the reports or the terminal.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from loclab import security
from loclab.testing import write_notebook

TOKEN = "tok-5f1c9e2a7b"  # a value no pattern recognises: only its name says it is secret
CLI_KEY = "clikey-93be01aa"
ENDPOINT = "https://mt.internal.example/v1/engine-8d2c"  # from ${MT_ENDPOINT}

PARAMETERS = """api_token: str = ""  # a token (its name says secret)
hf_key: str = ""  # another one, given with -p
endpoint: str = ""  # from ${MT_ENDPOINT} in the spec
mode: str = "ok"  # ok or raise"""

CELLS = [
    "import pandas as pd\nfrom loclab import runtime\n\nctx = runtime.context()\n"
    "print('using', api_token, hf_key, endpoint)",
    "runtime.log_metrics({'val_score': 0.5}, step=0)\n"
    "runtime.set_tags({'loclab.note': f'called {endpoint} with {api_token}'})",
    "if mode == 'raise':\n    raise RuntimeError(f'401 from {endpoint} for token {api_token}')",
    "runtime.write_predictions(pd.DataFrame({'example_id': ['e1', 'e2'], 'label': [1, 0], "
    "'prediction': [1, 1], 'score': [0.9, 0.6], 'correct': [1, 0], "
    "'request': [f'{endpoint}?key={hf_key}', 'x']}))\n"
    "runtime.log_metrics({'test_score': 0.5, 'test_acc': 0.5})",
]

SPEC = """name: leak
notebook: notebooks/leak.ipynb
params:
  api_token: tok-5f1c9e2a7b
  endpoint: ${MT_ENDPOINT}
compare:
  metrics: [test_acc]
  systems:
    good: {role: baseline}
    bad: {params: {mode: raise}}
"""


@pytest.fixture(autouse=True)
def _forget() -> None:
    security.forget_secrets()


def _texts(root: Path) -> list[tuple[Path, bytes]]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            found.append((path, path.read_bytes()))
    return found


@pytest.mark.slow
def test_planted_secrets_leak_nowhere(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    write_notebook(tmp_path / "notebooks" / "leak.ipynb", PARAMETERS, CELLS)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "leak.yaml").write_text(SPEC)
    env = {**os.environ, "MT_ENDPOINT": ENDPOINT}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "loclab",
            "run",
            "experiments/leak.yaml",
            "-p",
            f"hf_key={CLI_KEY}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The raising system fails the run; everything was still written, and scrubbed.
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "leak-bad" in proc.stdout + proc.stderr
    secrets = [TOKEN, CLI_KEY, ENDPOINT]
    for stream in (proc.stdout, proc.stderr):
        assert not [s for s in secrets if s in stream], stream
    leaks = []
    for path, data in _texts(tmp_path / ".loclab") + _texts(tmp_path / "reports"):
        leaks += [(str(path.relative_to(tmp_path)), s) for s in secrets if s.encode() in data]
    assert leaks == []
    # MLflow's store, read as MLflow does (params, tags, metrics).
    db = sqlite3.connect(tmp_path / ".loclab" / "mlflow.db")
    rows = [r for t in ("params", "tags") for r in db.execute(f"select key, value from {t}")]
    assert ("api_token", "[REDACTED]") in rows
    assert not [r for r in rows if any(s in str(r[1]) for s in secrets)]
    # The job still had its values: it printed them (scrubbed) and used them.
    runs = tmp_path / ".loclab" / "runs" / "leak"
    log = next(runs.glob("leak-good*/job.log")).read_text()
    assert "using [REDACTED] [REDACTED] [REDACTED]" in log
    hyper = next(runs.glob("leak-good*/input/config/hyperparameters.json")).read_text()
    assert '"api_token": "[REDACTED]"' in hyper
    # The predictions column holding a secret was left out, the others kept.
    import pandas as pd

    frame = pd.read_parquet(next(runs.glob("leak-good*/output/data/predictions.parquet")))
    assert "request" not in frame.columns and "score" in frame.columns


def test_values_are_redacted_in_every_form() -> None:
    security.register_secrets(['p@ss w"rd', 123456, "ab"])
    text = 'a p@ss w"rd b {"v": "p@ss w\\"rd"} p%40ss%20w%22rd p@ss w&quot;rd 123456 ab'
    out = security.scrub(text)
    assert "p@ss" not in out and "123456" not in out
    assert out.endswith(" ab")  # shorter than MIN_SECRET_LENGTH: left alone


def test_secret_names_include_key_and_project_words() -> None:
    assert security.is_secret_name("api_key") and security.is_secret_name("key")
    assert not security.is_secret_name("keyboard") and not security.is_secret_name("job_key")
    assert not security.is_secret_name("dsn")
    security.add_secret_words(["dsn"])
    assert security.is_secret_name("warehouse_dsn")
