"""Secret scrubbing: patterns in text, names in mappings, notebooks and files in place."""

from __future__ import annotations

import json

import pytest

from loclab.security import (
    REDACTED,
    is_secret_name,
    scrub,
    scrub_files,
    scrub_mapping,
    scrub_notebook,
    scrub_notebook_file,
)
from loclab.testing import write_notebook


def test_every_planted_secret_is_redacted(secrets):
    for line in secrets.lines():
        out = scrub(line)
        assert REDACTED in out, line
        for value in secrets.values():
            assert value not in out, (line, out)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("tokenize: 13a", "tokenize: 13a"),
        ("max_tokens=5", "max_tokens=5"),
        ("p_value: 0.05; val_loss=0.3", "p_value: 0.05; val_loss=0.3"),
        ("postgresql+psycopg2://loclab@127.0.0.1:55432/x", "postgresql+psycopg2://loclab@127.0"),
        ("Does the neural checker beat the baseline?", "Does the neural checker beat"),
    ],
)
def test_ordinary_text_is_left_alone(text, kept):
    assert kept in scrub(text)


def test_quoted_and_escaped_forms(secrets):
    assert scrub(f'passwd: "{secrets.password} more"') == f'passwd: "{REDACTED}"'
    escaped = f"{{&quot;password&quot;: &quot;{secrets.password}&quot;}}"
    assert secrets.password not in scrub(escaped)
    url = f"https://user:{secrets.url_password}@example.org/x"
    assert scrub(url) == f"https://user:{REDACTED}@example.org/x"


def test_names_that_hold_secrets():
    assert all(map(is_secret_name, ["AWS_SECRET_ACCESS_KEY", "db_password", "api-key", "token",
                                    "aws_session_token", "pwd"]))  # fmt: skip
    assert not any(map(is_secret_name, ["tokenize", "max_tokens", "lr", "keyboard", "secretary"]))
    data = {"params": {"db_password": "anything at all", "lr": 0.1, "tokenize": "13a",
                       "note": ["see AKIA" + "Z" * 16]}}  # fmt: skip
    out = scrub_mapping(data)
    assert out["params"]["db_password"] == REDACTED
    assert out["params"]["lr"] == 0.1 and out["params"]["tokenize"] == "13a"
    assert out["params"]["note"] == [f"see {REDACTED}"]
    assert data["params"]["db_password"] == "anything at all"  # a copy, not in place


def test_notebook_sources_outputs_and_metadata(tmp_path, secrets):
    nb_path = write_notebook(tmp_path / "nb.ipynb", "x: int = 1  # x", ["print(1)"])
    nb = json.loads(nb_path.read_text())
    # A key block split over source lines, a secret in a stream, a parameter in metadata.
    nb["cells"][1]["source"] = [line + "\n" for line in secrets.private_key.splitlines()]
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": [f"{secrets.lines()[2]}\n"]},
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": "iVBORw0KGgo" + "AKIA" + "B" * 16, "text/plain": ["<Figure>"]}},
    ]  # fmt: skip
    nb["metadata"]["papermill"] = {"parameters": {"api_key": "k-123", "note": secrets.password}}
    new, changed = scrub_notebook(nb)
    text = json.dumps(new)
    assert changed
    assert "PRIVATE KEY" not in text and secrets.secret_key not in text
    assert new["metadata"]["papermill"]["parameters"]["api_key"] == REDACTED
    # Binary outputs are data, not text: left as they are.
    assert new["cells"][1]["outputs"][1]["data"]["image/png"].endswith("B" * 16)

    nb_path.write_text(json.dumps(nb))
    assert scrub_notebook_file(nb_path)
    assert secrets.secret_key not in nb_path.read_text()
    assert not scrub_notebook_file(nb_path)  # already clean: untouched


def test_scrub_files_in_place(tmp_path, secrets):
    (tmp_path / "failure").write_text(f"ValueError: {secrets.lines()[5]}\n")
    (tmp_path / "job.log").write_text("\n".join(secrets.lines()))
    (tmp_path / "model.bin").write_bytes(b"\x00\x01" + secrets.access_key.encode())
    changed = scrub_files([tmp_path])
    assert {p.name for p in changed} == {"failure", "job.log"}
    for name in ("failure", "job.log"):
        text = (tmp_path / name).read_text()
        assert not any(v in text for v in secrets.values()), text
    assert secrets.access_key.encode() in (tmp_path / "model.bin").read_bytes()
