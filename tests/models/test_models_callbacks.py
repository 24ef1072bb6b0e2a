"""The Lightning glue: the MLflow logger a training job's Trainer gets."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlflow.tracking import MlflowClient

from loclab import runtime
from loclab.execution.contract import JobLayout
from loclab.models.callbacks import mlflow_logger


def test_module_hyperparameters_never_clash_with_the_jobs_parameters(
    tmp_path: Path, mlflow_db: Path
) -> None:
    # The launcher logs the notebook's parameters on the job's run (lr 0.003, the char CNN's
    # rate); the MiniLM module's own lr is the notebook's ft_lr. MLflow refuses a changed
    # value, which failed every MiniLM job of experiments/term_qa_transformer.yaml.
    db = tmp_path / "mlflow.db"
    shutil.copy(mlflow_db, db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("t"))
    for key, value in {"lr": "0.003", "dropout": "0.25", "ft_lr": "0.0001"}.items():
        client.log_param(run.info.run_id, key, value)
    layout = JobLayout(tmp_path / "job")
    layout.create()
    ctx = runtime.JobContext("t", layout, False, 1, 0, uri, run.info.run_id)
    logger = mlflow_logger(ctx)
    logger.log_hyperparams({"lr": 1e-4, "dropout": 0.1, "net": {"layers": 3}})
    params = client.get_run(run.info.run_id).data.params
    assert params["lr"] == "0.003" and params["dropout"] == "0.25"
    assert params["model.lr"] == "0.0001" and params["model.dropout"] == "0.1"
    assert params["model.net/layers"] == "3"
