import json

import pytest

from loclab.execution.contract import (
    JobLayout,
    channel_names,
    environment,
    read_hyperparameters,
    write_input_config,
)


def test_layout_and_config_files(tmp_path):
    layout = JobLayout(tmp_path / "job")
    (tmp_path / "train").mkdir()
    write_input_config(layout, {"lr": "0.01", "layers": "[64, 32]"}, {"train": tmp_path / "train"})
    for sub in ("input/config", "input/data", "model", "output/data", "checkpoints"):
        assert (layout.root / sub).is_dir(), sub
    assert json.loads(layout.hyperparameters_file.read_text()) == {
        "layers": "[64, 32]",
        "lr": "0.01",
    }
    resources = json.loads(layout.resource_config_file.read_text())
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]
    assert json.loads(layout.input_data_config_file.read_text())["train"]["TrainingInputMode"] == (
        "File"
    )
    assert read_hyperparameters(layout) == {"lr": "0.01", "layers": "[64, 32]"}
    assert channel_names(layout) == ["train"]


def test_hyperparameters_must_be_strings(tmp_path):
    with pytest.raises(TypeError, match="must be strings"):
        write_input_config(JobLayout(tmp_path), {"lr": 0.1})  # type: ignore[dict-item]


def test_sm_environment(tmp_path):
    layout = JobLayout(tmp_path)
    (tmp_path / "src").mkdir()
    write_input_config(layout, {"lr": "0.01", "model": "cnn"}, {"train": tmp_path / "src"})
    layout.channel_dir("train").mkdir(parents=True)
    env = environment(layout, "exp-job-1", {"lr": "0.01", "model": "cnn"})
    assert env["TRAINING_JOB_NAME"] == "exp-job-1"
    assert env["SM_MODEL_DIR"] == str(tmp_path / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(tmp_path / "output" / "data")
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "input" / "data" / "train")
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HPS"]) == {"lr": "0.01", "model": "cnn"}
    assert env["SM_HP_LR"] == "0.01" and env["SM_HP_MODEL"] == "cnn"
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_NUM_GPUS"].isdigit()
    assert all(isinstance(v, str) for v in env.values())
