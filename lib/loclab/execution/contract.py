"""The SageMaker training-container contract, rooted anywhere.

A loclab *job* sees the same tree a SageMaker training container sees under ``/opt/ml``::

    input/config/hyperparameters.json   # every value a string, as SageMaker writes them
    input/config/resourceconfig.json
    input/config/inputdataconfig.json
    input/data/<channel>/
    model/
    output/data/                        # executed notebook, predictions, anything to keep
    output/failure                      # why the job failed (absent on success)
    checkpoints/                        # the only folder SageMaker syncs to S3 while running

Locally the root is a run directory; on SageMaker it is ``/opt/ml``. Only this module knows the
layout and the ``SM_*`` variable names; everything else asks it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loclab.io import write_json

__all__ = [
    "CHECKPOINT_ENV",
    "CURRENT_HOST",
    "EXECUTED_NOTEBOOK",
    "METRICS_FILE",
    "METRIC_LINE_PREFIX",
    "JobLayout",
    "environment",
    "metric_regex",
    "read_hyperparameters",
    "write_input_config",
]

#: Name of the single host of a one-instance job, as SageMaker names it.
CURRENT_HOST = "algo-1"
#: Variable naming the checkpoint folder (SageMaker's default local path is /opt/ml/checkpoints).
CHECKPOINT_ENV = "SM_CHECKPOINT_DIR"
#: File name of the executed notebook inside ``output/data``.
EXECUTED_NOTEBOOK = "executed.ipynb"
#: How a job prints a metric on its log: ``[loclab-metric] step=3 val_acc=0.81 ...``.
METRIC_LINE_PREFIX = "[loclab-metric]"
#: Per-epoch metrics, one JSON object per line, inside ``checkpoints/``: SageMaker uploads that
#: folder while the job runs, so a driver can read metrics (and prune) before the job ends.
METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class JobLayout:
    """Paths of one job's tree.

    Args:
        root: The container root (``/opt/ml`` on SageMaker, a run directory locally).
    """

    root: Path

    @property
    def input_dir(self) -> Path:  # noqa: D102
        return self.root / "input"

    @property
    def config_dir(self) -> Path:  # noqa: D102
        return self.root / "input" / "config"

    @property
    def hyperparameters_file(self) -> Path:  # noqa: D102
        return self.config_dir / "hyperparameters.json"

    @property
    def resource_config_file(self) -> Path:  # noqa: D102
        return self.config_dir / "resourceconfig.json"

    @property
    def input_data_config_file(self) -> Path:  # noqa: D102
        return self.config_dir / "inputdataconfig.json"

    @property
    def data_dir(self) -> Path:  # noqa: D102
        return self.root / "input" / "data"

    def channel_dir(self, name: str) -> Path:
        """Folder of input channel ``name``."""
        return self.data_dir / name

    @property
    def model_dir(self) -> Path:  # noqa: D102
        return self.root / "model"

    @property
    def output_dir(self) -> Path:  # noqa: D102
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:  # noqa: D102
        return self.root / "output" / "data"

    @property
    def failure_file(self) -> Path:  # noqa: D102
        return self.root / "output" / "failure"

    @property
    def checkpoint_dir(self) -> Path:  # noqa: D102
        return self.root / "checkpoints"

    @property
    def metrics_file(self) -> Path:  # noqa: D102
        return self.checkpoint_dir / METRICS_FILE

    @property
    def executed_notebook(self) -> Path:  # noqa: D102
        return self.output_data_dir / EXECUTED_NOTEBOOK

    def create(self) -> None:
        """Create every folder of the tree (idempotent)."""
        for d in (
            self.config_dir,
            self.data_dir,
            self.model_dir,
            self.output_data_dir,
            self.checkpoint_dir,
        ):
            d.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class ResourceConfig:
    """What ``resourceconfig.json`` says about the cluster (one host for now)."""

    current_host: str = CURRENT_HOST
    hosts: tuple[str, ...] = (CURRENT_HOST,)
    instance_type: str = "local"
    num_cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    num_gpus: int = 0

    def to_json(self) -> dict[str, object]:
        """The document SageMaker writes (``current_host``, ``hosts``, instance groups)."""
        return {
            "current_host": self.current_host,
            "current_instance_type": self.instance_type,
            "current_group_name": "homogeneousCluster",
            "hosts": list(self.hosts),
            "instance_groups": [
                {
                    "instance_group_name": "homogeneousCluster",
                    "instance_type": self.instance_type,
                    "hosts": list(self.hosts),
                }
            ],
            "network_interface_name": "eth0",
        }


def write_input_config(
    layout: JobLayout,
    hyperparameters: Mapping[str, str],
    channels: Mapping[str, Path] | None = None,
    resources: ResourceConfig | None = None,
) -> None:
    """Write ``input/config/*.json`` the way SageMaker does.

    Args:
        layout: The job's tree.
        hyperparameters: Already string-encoded values (see ``loclab.params.encode_value``).
        channels: Channel name to the folder that holds its files.
        resources: Cluster description; one local host by default.
    """
    bad = [k for k, v in hyperparameters.items() if not isinstance(v, str)]
    if bad:
        raise TypeError(f"hyperparameters must be strings, as SageMaker passes them: {bad}")
    layout.create()
    resources = resources or ResourceConfig()
    _write_json(layout.hyperparameters_file, dict(hyperparameters))
    _write_json(layout.resource_config_file, resources.to_json())
    _write_json(
        layout.input_data_config_file,
        {
            name: {
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
            }
            for name in sorted(channels or {})
        },
    )


def read_hyperparameters(layout: JobLayout) -> dict[str, str]:
    """Read ``hyperparameters.json``; missing file means no hyperparameters."""
    if not layout.hyperparameters_file.exists():
        return {}
    data = json.loads(layout.hyperparameters_file.read_text())
    return {str(k): str(v) for k, v in data.items()}


def channel_names(layout: JobLayout) -> list[str]:
    """Channels present under ``input/data`` (the config file wins when it exists)."""
    if layout.input_data_config_file.exists():
        return sorted(json.loads(layout.input_data_config_file.read_text()))
    if not layout.data_dir.exists():
        return []
    return sorted(p.name for p in layout.data_dir.iterdir() if p.is_dir())


def environment(
    layout: JobLayout,
    job_name: str,
    hyperparameters: Mapping[str, str],
    *,
    num_gpus: int | None = None,
) -> dict[str, str]:
    """The ``SM_*`` variables the SageMaker training toolkit sets for a user script.

    Args:
        layout: The job's tree.
        job_name: ``TRAINING_JOB_NAME``.
        hyperparameters: String values from ``hyperparameters.json``.
        num_gpus: GPUs the job may use (the machine's, from its driver files, when None).

    Returns:
        Variables to add to the kernel's environment.
    """
    resources = _read_resources(layout)
    channels = channel_names(layout)
    env = {
        "TRAINING_JOB_NAME": job_name,
        "SM_CURRENT_HOST": str(resources.get("current_host", CURRENT_HOST)),
        "SM_HOSTS": json.dumps(_hosts(resources)),
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_NUM_GPUS": str(count_gpus() if num_gpus is None else num_gpus),
        "SM_INPUT_DIR": str(layout.input_dir),
        "SM_INPUT_CONFIG_DIR": str(layout.config_dir),
        "SM_INPUT_DATA_CONFIG": json.dumps(_read_json(layout.input_data_config_file)),
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_MODEL_DIR": str(layout.model_dir),
        "SM_OUTPUT_DIR": str(layout.output_dir),
        "SM_OUTPUT_DATA_DIR": str(layout.output_data_dir),
        CHECKPOINT_ENV: str(layout.checkpoint_dir),
        "SM_CHANNELS": json.dumps(channels),
        "SM_HPS": json.dumps(dict(hyperparameters)),
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(layout.channel_dir(name))
    for key, value in hyperparameters.items():
        env[f"SM_HP_{key.upper()}"] = value
    return env


def metric_regex(name: str) -> str:
    """Regex that captures metric ``name`` from the lines a job prints (``[loclab-metric]``).

    Used for SageMaker ``MetricDefinitions``.
    """
    import re

    return rf"\[loclab-metric\].*\b{re.escape(name)}=([-+0-9.eEnaif]+)"


def _hosts(resources: dict[str, object]) -> list[str]:
    hosts = resources.get("hosts")
    return [str(h) for h in hosts] if isinstance(hosts, list) else [CURRENT_HOST]


def count_gpus() -> int:
    """GPUs on this machine, read from the driver's files (importing torch is slow)."""
    proc = Path("/proc/driver/nvidia/gpus")
    return len(list(proc.iterdir())) if proc.exists() else 0


def _read_resources(layout: JobLayout) -> dict[str, object]:
    data = _read_json(layout.resource_config_file)
    return data if isinstance(data, dict) else {}


def _read_json(path: Path) -> object:
    return json.loads(path.read_text()) if path.exists() else {}


def _write_json(path: Path, data: object) -> None:
    write_json(path, data)
