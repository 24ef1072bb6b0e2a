"""Data files named by parameters: resolved against the project root and checked at load."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from loclab.exceptions import SpecError
from loclab.spec import load_experiment
from loclab.testing import write_notebook

PARAMS = 'data_path: str = ""  # pairs\nref_file: str = ""  # references\nx: int = 1  # x'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    write_notebook(tmp_path / "notebooks" / "t.ipynb", PARAMS, ["print(data_path)"])
    (tmp_path / "data").mkdir()
    (tmp_path / "experiments").mkdir()
    return tmp_path


def load(root: Path, params: str, overrides: list[str] | None = None, extra: str = ""):
    spec = root / "experiments" / "t.yaml"
    spec.write_text(f"name: t\nnotebook: notebooks/t.ipynb\n{extra}params:\n{params}")
    return load_experiment(spec, overrides or [], environ={})


def problems(root: Path, params: str, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as err:
        load(root, params, overrides)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("ragged.tsv", b"src\tmt\tlabel\na\tb\t1\nc\td\n", "line 3 has 2 fields, the header 3"),
        ("dup.csv", b"src,src,label\na,b,1\n", "header repeats column(s) ['src']"),
        ("noname.tsv", b"src\t\tlabel\na\tb\t1\n", "header column 2 has no name"),
        ("latin1.tsv", "src\tmt\ncafé\tx\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9"),
        ("empty.csv", b"", "is empty"),
        ("oneline.tsv", b"just some text\n", "has no tab-separated header"),
    ],
)
def test_bad_data_files_are_named_with_the_fix(root, name, content, expected):
    (root / "data" / name).write_bytes(content)
    (found,) = problems(root, f"  data_path: data/{name}\n")
    assert found.startswith(f"experiments/t.yaml: params.data_path: 'data/{name}': ") or (
        "experiments/t.yaml" in found and "params.data_path" in found
    )
    assert expected in found


def test_every_bad_file_is_reported_at_once_also_from_the_command_line(root):
    (root / "data" / "bad.tsv").write_bytes(b"a\tb\n1\n")
    found = problems(root, "  data_path: data/nope.tsv\n", ["ref_file=data/bad.tsv"])
    assert len(found) == 2
    assert "params.data_path: 'data/nope.tsv' does not exist" in found[0]
    assert "-p ref_file: 'data/bad.tsv': line 2 has 1 fields" in found[1]


def test_a_gzipped_file_is_read_and_a_good_one_resolved_for_local_jobs(root):
    with gzip.open(root / "data" / "ok.tsv.gz", "wb") as fh:
        fh.write(b'src\tmt\n"quoted\tb\nx\ty\n')
    exp = load(root, "  data_path: data/ok.tsv.gz\n")
    assert exp.job_overrides()["data_path"] == str((root / "data" / "ok.tsv.gz").resolve())
    with gzip.open(root / "data" / "bad.tsv.gz", "wb") as fh:
        fh.write(b"src\tmt\n\xff\n")
    (found,) = problems(root, "  data_path: data/bad.tsv.gz\n")
    assert "is not UTF-8 text" in found


def test_a_channel_file_is_named_by_its_name_and_stays_as_written(root):
    (root / "data" / "refs.tsv").write_text("system\ttext\nref\thello\n")
    exp = load(root, "  ref_file: refs.tsv\n", extra="channels:\n  refs: data/refs.tsv\n")
    assert exp.job_overrides()["ref_file"] == "refs.tsv"


def test_sagemaker_jobs_refuse_a_file_outside_the_channels(root):
    (root / "data" / "ok.tsv").write_text("a\tb\n1\t2\n")
    spec = root / "experiments" / "t.yaml"
    spec.write_text(
        "name: t\nnotebook: notebooks/t.ipynb\nbackend:\n  kind: sagemaker\n  region: eu-west-1\n"
        "  role_arn: arn:aws:iam::123456789012:role/r\n  bucket: b\n"
        "  image_uri: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/loclab:1\n"
        "params:\n  data_path: data/ok.tsv\n"
    )
    with pytest.raises(SpecError) as err:
        load_experiment(spec, [], environ={})
    assert any("SageMaker jobs cannot read it" in str(p) for p in err.value.problems)
