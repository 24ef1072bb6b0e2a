"""MLflow runs: one parent per experiment run or study, one child per job.

The launcher, not the kernel, opens and closes each job's run. It hands the run to the job
(``MLFLOW_RUN_ID``) so the notebook logs its metrics into it, and it records the final status
even when the kernel died.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loclab.execution.job import JobRequest, JobResult
from loclab.paths import StateDir, Workspace

__all__ = ["EXPERIMENT_KIND", "EXPERIMENT_KIND_TAG", "Tracker", "default_tracking_uri"]

_MAX_PARAM_LEN = 6000
#: The experiment tag MLflow 3's UI reads to choose an experiment's page, and the value of a
#: model-training experiment: its runs table, not the GenAI traces page an experiment without
#: the tag may open on.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def default_tracking_uri(state: StateDir) -> str:
    """The state folder's SQLite store."""
    return f"sqlite:///{state.mlflow_db}"


class Tracker:
    """Thin layer over ``MlflowClient`` with loclab's run layout.

    Args:
        tracking_uri: MLflow tracking URI.
        artifact_root: Where new experiments store artifacts (local stores only).
        tags: Tags added to every run (provenance).
    """

    def __init__(
        self,
        tracking_uri: str,
        artifact_root: Path | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        import logging

        from mlflow.tracking import MlflowClient

        # A new store's migrations log INFO lines: noise in a command's output.
        for name in ("mlflow.store.db.utils", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.tags = dict(tags or {})
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri)
        except Exception as err:
            raise self._unusable(err) from None
        self._experiments: dict[str, str] = {}

    @classmethod
    def for_state(cls, state: StateDir, tags: Mapping[str, str] | None = None) -> Tracker:
        """A tracker of the state folder's SQLite store (artifacts in the state folder)."""
        return cls(default_tracking_uri(state), artifact_root=state.artifacts, tags=tags)

    @classmethod
    def for_workspace(
        cls, ws: Workspace, tags: Mapping[str, str] | None = None, *, uri: str | None = None
    ) -> Tracker:
        """The workspace's tracker.

        Args:
            ws: The workspace (its ``tracking_uri``, else the state folder's SQLite store).
            tags: Tags added to every run.
            uri: A tracking URI that wins over the workspace's (a SageMaker backend's server).
        """
        found = uri or ws.tracking_uri or default_tracking_uri(ws.state)
        root = ws.state.artifacts if found.startswith("sqlite:") else None
        return cls(found, artifact_root=root, tags=tags)

    def check(self) -> None:
        """Open the store once, so a damaged or unreachable one is one clear error up front.

        Raises:
            LoclabError: Naming the store and what to do.
        """
        try:
            self.client.search_experiments(max_results=1)
        except Exception as err:
            raise self._unusable(err) from None

    def _unusable(self, err: BaseException) -> Exception:
        from loclab.exceptions import StateError

        text = str(err).strip().splitlines()
        first = text[0] if text else type(err).__name__
        where = self.tracking_uri
        if where.startswith("sqlite:///"):
            path = where.removeprefix("sqlite:///")
            return StateError(
                f"{path} is not a usable MLflow store ({type(err).__name__}: {first[:200]}); "
                "move it aside (a new one is made) or set MLFLOW_TRACKING_URI to another store"
            )
        return StateError(
            f"the MLflow store {where} cannot be reached ({first[:200]}); check the server, "
            "or unset MLFLOW_TRACKING_URI to use the project's own store"
        )

    def experiment_id(self, name: str) -> str:
        """The MLflow experiment named ``name``, created on first use.

        It is marked a model-training experiment (:data:`EXPERIMENT_KIND_TAG`), so MLflow's UI
        opens it on its runs; one created before loclab set the tag gets it now.
        """
        if name in self._experiments:
            return self._experiments[name]
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            exp_id = found.experiment_id
            if EXPERIMENT_KIND_TAG not in found.tags:
                self.client.set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        else:
            location = None
            if self.artifact_root is not None:
                location = (self.artifact_root / name).resolve().as_uri()
            try:
                exp_id = self.client.create_experiment(
                    name,
                    artifact_location=location,
                    tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
                )
            except Exception:
                # Another process created it between our lookup and create.
                again = self.client.get_experiment_by_name(name)
                if again is None:
                    raise
                exp_id = again.experiment_id
        self._experiments[name] = exp_id
        return exp_id

    def start_run(
        self,
        experiment: str,
        run_name: str,
        *,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a run (child of ``parent_run_id`` when given); return its id."""
        all_tags = {k: _clean(k, str(v)) for k, v in {**self.tags, **(tags or {})}.items()}
        all_tags["mlflow.runName"] = run_name
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id(experiment), tags=all_tags)
        run_id = str(run.info.run_id)
        if params:
            self.log_params(run_id, params)
        return run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log parameters (values as text, truncated to MLflow's limit)."""
        from mlflow.entities import Param

        items = []
        for key, value in params.items():
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            items.append(Param(str(key), _clean(str(key), text)[:_MAX_PARAM_LEN]))
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags on a run."""
        from mlflow.entities import RunTag

        items = [RunTag(str(k), _clean(str(k), str(v))[:5000]) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, tags=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log finite metric values."""
        import math
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [
            Metric(str(k), float(v), now, step)
            for k, v in metrics.items()
            if v is not None and math.isfinite(float(v))
        ]
        if items:
            self.client.log_batch(run_id, metrics=items)

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        """Upload a file or folder to the run's artifacts, secrets scrubbed.

        Text files and notebooks are scrubbed in a temporary copy (see
        :mod:`loclab.security`), so a password in a spec or a failure message never reaches
        the tracking server while the local file stays as it was.
        """
        import shutil
        import tempfile

        from loclab.security import scrub_files

        if not path.exists():
            return
        with tempfile.TemporaryDirectory(prefix="loclab-artifact-") as tmp:
            copy = Path(tmp) / path.name
            if path.is_dir():
                shutil.copytree(path, copy, symlinks=False)
            else:
                shutil.copy2(path, copy)
            scrub_files([copy])
            if copy.is_dir():
                self.client.log_artifacts(run_id, str(copy), artifact_path)
            else:
                self.client.log_artifact(run_id, str(copy), artifact_path)

    def end_run(self, run_id: str, status: str) -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        self.client.set_terminated(run_id, status=status)

    def start_job(self, request: JobRequest, *, parent_run_id: str | None = None) -> str:
        """Open the job's run before the job starts: tags, parameters, job name."""
        tags = {
            "loclab.job": request.name,
            "loclab.experiment": request.experiment,
            "loclab.job_key": request.key,
            "loclab.notebook": request.notebook.name,
            **request.tags,
        }
        return self.start_run(
            request.experiment,
            request.name,
            parent_run_id=parent_run_id,
            tags=tags,
            params=request.params,
        )

    def finish_job(self, result: JobResult) -> None:
        """Close the job's run: executed notebook and outputs as artifacts, final status."""
        if not result.mlflow_run_id:
            return
        run_id = result.mlflow_run_id
        layout = result.layout
        tags_file = layout.output_data_dir / "tags.json"
        tags: dict[str, Any] = {"loclab.state": str(result.state)}
        if tags_file.exists():
            with contextlib.suppress(ValueError):
                tags.update(json.loads(tags_file.read_text()))
        if result.failure:
            tags["loclab.failure"] = result.failure
        from loclab.security import scrub, scrub_files

        # Secrets a notebook printed or was given never reach the tracking store.
        tags = {k: scrub(v) if isinstance(v, str) else v for k, v in tags.items()}
        notebooks = sorted(layout.output_data_dir.glob("*.ipynb"))
        scrub_files([*notebooks, tags_file, layout.failure_file, result.log_file])
        self.set_tags(run_id, tags)
        # The kernel logs its metrics itself when it can reach MLflow; fill in what did not
        # arrive from metrics.jsonl: a job that ran where the tracking server was unreachable,
        # or a trial stopped (pruned) in the moment between reporting an epoch to the driver
        # and its logger writing that epoch to MLflow.
        logged = self.client.get_run(run_id).data.metrics
        missing = {k: v for k, v in result.final_metrics().items() if k not in logged}
        if missing:
            self.log_metrics(run_id, missing)
        for step, values in result.epoch_metrics():
            late = {k: v for k, v in values.items() if k not in logged}
            if late:
                self.log_metrics(run_id, late, step=step)
        self.log_artifact(run_id, layout.output_data_dir, "output")
        if layout.failure_file.exists():
            self.log_artifact(run_id, layout.failure_file, "output")
        if result.log_file.exists():
            self.log_artifact(run_id, result.log_file)
        self.end_run(run_id, result.state.mlflow_status)


def _clean(key: str, text: str) -> str:
    """A value as it may be tracked: redacted under a secret name, else scrubbed."""
    from loclab.security import REDACTED, is_secret_name, scrub

    if is_secret_name(key) and text not in ("", "null", '""'):
        return REDACTED
    return scrub(text)
