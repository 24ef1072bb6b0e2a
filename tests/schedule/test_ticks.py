"""Ticks of `experiments/mt_monitoring.yaml` over dated WMT17 snapshots, alerts to 127.0.0.1.

The command line as a timer runs it (``loclab schedule run SPEC --channel wmt=PATH``), the
project's own MT template and spec, a webhook receiver on 127.0.0.1: the first tick is the
baseline, a degraded engine is a regression (exit 3, one message naming it), a persisting
regression is silent, a recovery says so, an unchanged tick is quiet, and the webhook's URL
is written nowhere. A failed run is retried and said once; a channel answering 500 is retried.
(What a channel that never answers leaves behind: tests/schedule/test_alerts.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loclab.testing.mt import degrade, read_wmt17_tsv, write_snapshot
from loclab.testing.webhook import WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
WMT17 = REPO.parent / "shared" / "data" / "wmt17_en_de_systems.tsv.gz"
ENGINES = ("LIUM-NMT", "uedin-nmt", "online-B", "KIT")
BROKEN = "uedin-nmt"

pytestmark = pytest.mark.skipif(not WMT17.exists(), reason=f"{WMT17} is not on this machine")


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """The first 150 segments of four WMT17 engines and the reference."""
    every = read_wmt17_tsv(WMT17, segments=150)
    return {name: every[name] for name in (*ENGINES, "reference")}


def monitoring_project(root: Path) -> Path:
    """A project with the repository's MT template and monitoring spec (BLEU only, for speed)."""
    (root / "notebooks" / "templates").mkdir(parents=True)
    (root / "experiments").mkdir()
    (root / "loclab.yaml").write_text("# project root\n")
    template = REPO / "notebooks" / "templates" / "mt_engines.ipynb"
    (root / "notebooks" / "templates" / "mt_engines.ipynb").write_bytes(template.read_bytes())
    spec = yaml.safe_load((REPO / "experiments" / "mt_monitoring.yaml").read_text())
    spec["params"]["metrics"] = "bleu"
    spec["compare"]["metrics"] = ["bleu"]
    spec["compare"]["n_resamples"] = 2000
    path = root / "experiments" / "mt_monitoring.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


class Ticks:
    """``loclab schedule run`` of one project, as a timer calls it (its own process)."""

    def __init__(self, root: Path, spec: Path, snapshots: Path, webhook: str) -> None:
        self.root, self.spec, self.snapshots = root, spec, snapshots
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SM_", "LOCLAB_"))
        }
        self.env["MT_ALERT_WEBHOOK"] = webhook
        self.state = root / ".loclab"

    def run(self) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "loclab", "schedule", "run", str(self.spec),
               "--channel", f"wmt={self.snapshots}"]  # fmt: skip
        return subprocess.run(
            cmd, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=600
        )

    def schedule(self) -> dict:
        return json.loads((self.state / "results" / "mt-monitoring" / "schedule.json").read_text())


@pytest.mark.slow  # five ticks, each a kernel and a report: about 2 minutes on 2 busy cores
@pytest.mark.timeout(900)
def test_ticks_alert_on_transitions_only(texts, tmp_path):
    root = tmp_path / "proj"
    spec = monitoring_project(root)
    snapshots = tmp_path / "snapshots"
    broken = dict(texts, **{BROKEN: degrade(texts[BROKEN], how="drop_words", fraction=0.6)})
    with WebhookReceiver() as hook:
        ticks = Ticks(root, spec, snapshots, hook.url)

        write_snapshot(snapshots, "2026-11-30", texts)
        first = ticks.run()
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
        assert "it becomes the baseline" in first.stdout and hook.received == []

        write_snapshot(snapshots, "2026-12-07", broken, name="outputs.tsv.gz")
        second = ticks.run()
        assert second.returncode == 3, second.stdout[-2000:] + second.stderr[-2000:]
        assert len(hook.received) == 1
        alert = hook.received[0]
        assert alert["experiment"] == "mt-monitoring" and alert["status"] == "regression"
        assert [s["system"] for s in alert["systems"]] == [BROKEN]  # the others are unchanged
        (named,) = alert["systems"]
        assert named["metric"] == "bleu" and named["delta"] <= -1.0
        assert named["ci_low"] < named["ci_high"] < 0 and named["p_adjusted"] < 0.05
        assert alert["report"].endswith(".html") and Path(alert["report"]).is_file()
        text = alert["text"]
        assert BROKEN in text and "practical threshold of 1" in text
        assert "snapshot 2026-11-30 -> 2026-12-07" in text
        assert "examples that got worse" in text
        assert ticks.schedule()["status"] == "regressed"

        write_snapshot(snapshots, "2026-12-14", broken)  # still broken: nothing new is sent
        third = ticks.run()
        assert third.returncode == 3, third.stdout[-2000:]
        assert len(hook.received) == 1

        write_snapshot(snapshots, "2026-12-21", texts)  # recovered
        fourth = ticks.run()
        assert fourth.returncode == 0, fourth.stdout[-2000:]
        assert len(hook.received) == 2
        assert hook.received[1]["status"] == "recovered"
        assert [s["system"] for s in hook.received[1]["systems"]] == [BROKEN]
        back = hook.received[1]["text"]
        assert "recovered (regressed since " in back and "beyond the practical" not in back

        fifth = ticks.run()  # nothing new: quiet
        assert fifth.returncode == 0 and len(hook.received) == 2

        state = ticks.schedule()
        assert state["status"] == "ok"
        assert [t["outcome"] for t in state["ticks"]] == [
            "baseline", "regressed", "regressed", "ok", "ok",
        ]  # fmt: skip
        sent = [a for a in state["alerts"] if a["delivered"]]
        assert [a["status"] for a in sent] == ["regression", "recovered"]
        assert {a["target"] for a in state["alerts"]} == {"${MT_ALERT_WEBHOOK}"}

        history = subprocess.run(
            [sys.executable, "-m", "loclab", "history", str(spec),
             "--channel", f"wmt={snapshots}"],
            cwd=root, env=ticks.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert history.stdout.count("2026-1") >= 4

    # The webhook's secret path is nowhere: records, run folders, MLflow's store, reports.
    board = (root / "reports" / "index.html").read_text()
    assert "mt-monitoring" in board and "<svg" in board
    for path in [*ticks.state.rglob("*"), *(root / "reports").rglob("*")]:
        if path.is_file():
            assert hook.token.encode() not in path.read_bytes(), path


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_failed_run_is_retried_said_once_and_its_recovery_too(texts, tmp_path):
    root = tmp_path / "proj"
    spec = monitoring_project(root)
    snapshots = tmp_path / "snapshots"
    write_snapshot(snapshots, "2026-11-30", texts)
    with WebhookReceiver(fail=2) as hook:  # the channel answers 500 twice, then recovers
        ticks = Ticks(root, spec, snapshots, hook.url)
        assert ticks.run().returncode == 0
        (snapshots / "2026-12-07").mkdir()  # the week's outputs did not arrive
        failed = ticks.run()
        assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
        assert "tick: attempt 1 failed" in failed.stdout and "1 retry(ies) left" in failed.stdout
        (alert,) = hook.received
        assert [a["status"] for a in hook.attempts] == [500, 500, 200]
        assert "alert: failure to webhook ${MT_ALERT_WEBHOOK}: sent" in failed.stdout
        assert hook.token not in failed.stdout + failed.stderr
        (sent,) = ticks.schedule()["alerts"]
        assert sent["delivered"] and sent["attempts"] == 3
        assert (root / "reports" / "mt-monitoring" / "index.html").is_file()
        assert alert["status"] == "failure" and alert["attempts"] == 2
        assert "empty snapshot" in alert["failure"] and alert["systems"] == []
        assert ticks.run().returncode == 1 and len(hook.received) == 1  # still failing: quiet
        write_snapshot(snapshots, "2026-12-07", texts)  # the outputs arrived
        assert ticks.run().returncode == 0
    assert [a["status"] for a in hook.received] == ["failure", "recovered"]
    assert "recovered (failed since " in hook.received[1]["text"]
    assert ticks.schedule()["status"] == "ok"
