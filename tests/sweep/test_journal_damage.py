"""Damaged Optuna journals: a torn last record is set aside, garbage is one clear line."""

from __future__ import annotations

import pytest

from loclab.exceptions import LoclabError
from loclab.paths import StateDir
from loclab.spec import SweepSpec
from loclab.sweep import load_study, open_study
from loclab.sweep.storage import repair_journal, resolve_location

SWEEP = SweepSpec(
    metric="val_score", n_trials=4, space={"x": {"type": "float", "low": 0.0, "high": 1.0}}
)


def finished_trial(study) -> None:
    from optuna.distributions import FloatDistribution

    trial = study.ask({"x": FloatDistribution(0.0, 1.0)})
    study.tell(trial, 0.5)


def test_a_torn_last_record_is_set_aside_and_the_study_goes_on(tmp_path):
    location = resolve_location("e", StateDir(tmp_path))
    finished_trial(open_study(location, SWEEP))
    journal = location.journal
    good = journal.read_bytes()
    journal.write_bytes(good + b'{"op_code": 5, "worker_id": "w", "trial_id"')  # the crash
    message = repair_journal(journal)
    assert message is not None and "its last record was torn" in message
    assert journal.read_bytes() == good
    (aside,) = tmp_path.glob("studies/e.journal.torn-*")
    assert aside.read_bytes().startswith(b'{"op_code": 5')
    # Appending after the repair keeps the journal readable.
    study = open_study(location, SWEEP)
    finished_trial(study)
    assert len(load_study(location).get_trials()) == 2
    assert repair_journal(journal) is None


def test_garbage_in_a_journal_is_one_line_naming_the_file(tmp_path):
    location = resolve_location("e", StateDir(tmp_path))
    finished_trial(open_study(location, SWEEP))
    journal = location.journal
    lines = journal.read_bytes().split(b"\n")
    journal.write_bytes(lines[0] + b"\nnot json at all\n" + b"\n".join(lines[1:]))
    with pytest.raises(LoclabError) as err:
        load_study(location)
    text = str(err.value)
    assert text.startswith(f"{journal} is damaged (") and "move it aside" in text
    assert "\n" not in text
