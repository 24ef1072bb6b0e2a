"""MT outputs read from a plain-text folder, the WMT layout (folder or .tgz) and a TSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loclab.data.mt import (
    MTOutputs,
    detect_format,
    mt_metric,
    read_mt_outputs,
    resolve_mt_input,
    score_outputs,
    split_names,
)
from loclab.exceptions import DataError
from loclab.testing.mt import read_wmt17_tsv, write_text_folder, write_wmt_tarball

WMT17 = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wmt17_en_de_systems.tsv.gz"
)
SYSTEMS = ["LIUM-NMT", "uedin-nmt", "online-B", "PROMT-Rule-based"]
N = 120


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """The first 120 segments of four WMT17 en-de systems and the reference."""
    if not WMT17.exists():
        pytest.skip(f"{WMT17} is not on this machine")
    every = read_wmt17_tsv(WMT17, segments=N)
    return {name: every[name] for name in [*SYSTEMS, "reference"]}


def _systems(texts: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: texts[name] for name in SYSTEMS}


def _wmt_names(texts: dict[str, list[str]]) -> dict[str, list[str]]:
    # Submission ids as WMT writes them (made up here: the real ones differ).
    return {f"{name}.{4900 + i}": texts[name] for i, name in enumerate(SYSTEMS)}


def test_text_folder_is_read_as_sacrebleu_reads_it(texts, tmp_path):
    folder = write_text_folder(tmp_path / "out", _systems(texts), {"ref.de": texts["reference"]})
    (folder / "uedin-nmt.de").write_bytes(
        "\r\n".join(f"{line}  " for line in texts["uedin-nmt"]).encode()  # CRLF, no final EOL
    )
    assert detect_format(folder) == "text"
    out = read_mt_outputs(folder)
    assert out.format == "text" and list(out.references) == ["ref.de"]
    assert sorted(out.systems) == sorted(SYSTEMS)  # the shared ".de" is not part of the name
    for name in SYSTEMS:
        assert list(out.systems[name]) == texts[name]
    assert out.segments == tuple(range(N)) and out.n_segments == N
    summary = out.summary()
    assert summary.loc["ref.de", "role"] == "reference"
    assert summary.loc["LIUM-NMT", "segments"] == N
    frame = out.to_frame()
    assert len(frame) == 5 * N and set(frame["system"]) == {*SYSTEMS, "ref.de"}


def test_several_references_by_name(texts, tmp_path):
    folder = write_text_folder(
        tmp_path / "out",
        {n: texts[n] for n in SYSTEMS[:2]},
        {"newstest-a.de": texts["reference"], "newstest-b.de": texts["online-B"]},
    )
    out = read_mt_outputs(folder, references="newstest-b.de, newstest-a.de")
    assert list(out.references) == ["newstest-b.de", "newstest-a.de"]
    assert out.reference_streams() == [texts["online-B"], texts["reference"]]
    assert sorted(out.systems) == sorted(SYSTEMS[:2])


def test_wmt_tarball_is_read_without_extracting(texts, tmp_path):
    tgz = write_wmt_tarball(
        tmp_path / "wmt17-submitted-data-v1.0.tgz",
        {
            "en-de": (_wmt_names(texts), texts["reference"]),
            "de-en": ({"uedin-nmt.4723": texts["uedin-nmt"]}, texts["reference"]),
        },
    )
    assert detect_format(tgz) == "wmt"
    with pytest.raises(DataError) as err:
        read_mt_outputs(tgz)
    assert str(err.value) == (
        f"{tgz}: holds several pairs (de-en, en-de); choose one with pair=..., e.g. pair=de-en"
    )
    out = read_mt_outputs(tgz, pair="en-de", testset="newstest2017")
    assert (out.format, out.testset, out.pair) == ("wmt", "newstest2017", "en-de")
    assert list(out.references) == ["newstest2017-ende-ref.de"]
    assert sorted(out.systems) == sorted(SYSTEMS)  # submission ids dropped
    assert all(list(out.systems[n]) == texts[n] for n in SYSTEMS)
    assert out.origins["LIUM-NMT"] == (
        f"{tgz}:wmt17-submitted-data/txt/system-outputs/newstest2017/en-de/"
        "newstest2017.LIUM-NMT.4900.en-de"
    )
    kept = read_mt_outputs(tgz, pair="en-de", keep_submission_ids=True)
    assert sorted(kept.systems) == sorted(_wmt_names(texts))
    assert list(tgz.parent.iterdir()) == [tgz]  # nothing extracted

    tree = write_wmt_tarball(
        tmp_path / "tree", {"en-de": (_wmt_names(texts), texts["reference"])}, folder=True
    )
    assert detect_format(tree) == "wmt"
    from_tree = read_mt_outputs(tree)
    assert from_tree.systems == out.systems and from_tree.references == out.references
    assert from_tree.fingerprint() == out.fingerprint()


def test_wmt_choices_that_do_not_exist_are_named(texts, tmp_path):
    tgz = write_wmt_tarball(tmp_path / "w.tgz", {"en-de": (_wmt_names(texts), texts["reference"])})
    with pytest.raises(DataError) as err:
        read_mt_outputs(tgz, pair="en-fr")
    assert str(err.value) == f"{tgz}: has no pair 'en-fr'; set pair to one of: en-de"
    with pytest.raises(DataError) as err:
        read_mt_outputs(tgz, references="newstestB2017-ende-ref.de")
    assert str(err.value) == (
        f"{tgz}:wmt17-submitted-data/txt/references/newstestB2017-ende-ref.de: reference not "
        "found; name the reference file(s) in wmt17-submitted-data/txt/references/ with "
        "references=...; there: newstest2017-ende-ref.de"
    )


def test_tsv_is_read_as_before():
    if not WMT17.exists():
        pytest.skip(f"{WMT17} is not on this machine")
    out = read_mt_outputs(WMT17)
    assert out.format == "tsv" and out.n_segments == 3004 and len(out.systems) == 16
    assert list(out.references) == ["reference"] and "LIUM-NMT" in out.systems


def test_every_problem_is_one_line_naming_the_file(texts, tmp_path):
    folder = write_text_folder(
        tmp_path / "out", {n: texts[n] for n in SYSTEMS[:2]}, {"ref.de": texts["reference"]}
    )
    (folder / "short.de").write_text("\n".join(texts["online-B"][:-3]) + "\n")
    (folder / "latin1.de").write_bytes("Größe\nStraße\n".encode("latin-1"))
    (folder / "empty.de").write_bytes(b"")
    (folder / "blank.de").write_bytes(b"\n" * N)
    with pytest.raises(DataError) as err:
        read_mt_outputs(folder)
    assert str(err.value).splitlines() == [
        f"{folder}/latin1.de: is not UTF-8 (byte 0xf6 on line 1); convert it, e.g. iconv -f "
        "latin1 -t utf-8 FILE > FILE.utf8",
        f"{folder}/blank.de: system output 'blank' is empty (only empty lines)",
        f"{folder}/empty.de: system output 'empty' is empty (no lines)",
        f"{folder}/short.de: has 117 lines but the reference ref.de has 120; outputs must be "
        "line-aligned with the reference (one segment per line)",
    ]
    (folder / "latin1.de").unlink()
    with pytest.raises(DataError) as err:
        read_mt_outputs(folder, references="reference.de")
    assert str(err.value) == (
        f"{folder}/reference.de: reference file not found; name one of the files here "
        "(references=...): LIUM-NMT.de, blank.de, empty.de, ref.de, short.de, uedin-nmt.de"
    )
    (folder / "ref.de").rename(folder / "gold.de")
    with pytest.raises(DataError, match=r"no reference file .* references=FILE"):
        read_mt_outputs(folder)


def test_duplicate_system_names(texts, tmp_path):
    systems = {"online-B.0": texts["online-B"], "online-B.1": texts["LIUM-NMT"]}
    tgz = write_wmt_tarball(tmp_path / "w.tgz", {"en-de": (systems, texts["reference"])})
    with pytest.raises(DataError) as err:
        read_mt_outputs(tgz)
    member = f"{tgz}:wmt17-submitted-data/txt/system-outputs/newstest2017/en-de/newstest2017"
    assert str(err.value) == (
        f"{member}.online-B.1.en-de: gives system name 'online-B' again (also "
        f"{member}.online-B.0.en-de); rename one of them (WMT layout: keep_submission_ids=True "
        "keeps the ids that tell them apart)"
    )
    assert sorted(read_mt_outputs(tgz, keep_submission_ids=True).systems) == sorted(systems)


def test_tsv_problems(tmp_path):
    path = tmp_path / "systems.tsv"
    path.write_text(
        "system\tsegment\ttext\nreference\t0\ta b\nreference\t1\tc\nx\t0\ta\nx\t0\tb\n"
    )
    with pytest.raises(DataError) as err:
        read_mt_outputs(path, references="gold")
    assert str(err.value).splitlines() == [
        f"{path}: no system named 'gold' holds a reference; set references to the system(s) "
        "that do; systems: reference, x",
        f"{path} (system x): repeats segment(s) 0; each system needs one row per segment",
    ]


def test_metric_options_are_checked_up_front():
    with pytest.raises(ValueError, match=r"options \{'tokenize': 'foo'\} do not suit the bleu"):
        mt_metric("bleu", tokenize="foo")
    with pytest.raises(ValueError, match="'meteor' is not an MT metric; valid: bleu, chrf, "):
        mt_metric("meteor")
    assert mt_metric("chrf++").name == "chrF2++" and mt_metric("TER").higher_is_better is False


def test_a_file_of_another_kind_and_a_missing_path(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(DataError, match=r"notes\.txt: is neither a TSV .* nor a WMT"):
        read_mt_outputs(other)
    with pytest.raises(DataError, match=r"nope: does not exist"):
        read_mt_outputs(tmp_path / "nope")
    with pytest.raises(ValueError, match="format 'csv' is not one of auto, text, wmt, tsv"):
        read_mt_outputs(other, format="csv")


def test_channel_resolution(tmp_path):
    single = tmp_path / "single"
    single.mkdir()
    (single / "wmt17.tgz").write_bytes(b"x")
    assert resolve_mt_input("data.tsv.gz", single) == single / "wmt17.tgz"
    several = tmp_path / "several"
    several.mkdir()
    for name in ("a.de", "ref.de"):
        (several / name).write_text("x\n")
    assert resolve_mt_input("data.tsv.gz", several) == several
    assert resolve_mt_input("a.de", several) == several / "a.de"
    assert resolve_mt_input(str(several / "a.de")) == several / "a.de"
    mounted = tmp_path / "job" / "input" / "data" / "wmt"  # a local job's channel: a link
    mounted.parent.mkdir(parents=True)
    mounted.symlink_to(several, target_is_directory=True)
    assert resolve_mt_input("data.tsv.gz", mounted) == several
    (several / "b.de").write_bytes(b"\xfc\n")
    with pytest.raises(DataError, match=rf"^{several / 'b.de'}: is not UTF-8"):
        read_mt_outputs(resolve_mt_input("data.tsv.gz", mounted))
    with pytest.raises(DataError, match=r"missing\.tgz: not found \(looked at "):
        resolve_mt_input(str(tmp_path / "missing.tgz"))
    assert split_names(" a.de, ,b.de ") == ["a.de", "b.de"] and split_names(None) == []


def test_worker_processes_give_the_same_statistics(texts):
    """Parallel scoring (forked workers) equals scoring in this process, row for row."""
    if not WMT17.exists():
        pytest.skip(f"{WMT17} is not on this machine")
    every = read_wmt17_tsv(WMT17)
    out = MTOutputs(
        systems={n: tuple(every[n]) for n in SYSTEMS},
        references={"reference": tuple(every["reference"])},
        segments=tuple(range(len(every["reference"]))),
        format="tsv",
        source=WMT17,
    )
    one = score_outputs(out, ["bleu"], n_jobs=1)["bleu"]
    two = score_outputs(out, ["bleu"], n_jobs=2)["bleu"]
    assert one.frame.equals(two.frame) and one.signature == two.signature
    assert np.array_equal(one.frame["example_id"].unique(), np.arange(3004))
