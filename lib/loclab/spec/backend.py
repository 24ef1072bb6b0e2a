"""The ``backend:`` section: where jobs run, and for SageMaker, on what and with which account.

``backend: local`` (the default) and ``backend: sagemaker`` are both complete one-liners. With
the shorthand, SageMaker settings come from, in this order (first found wins):

1. the spec's ``backend:`` mapping (``backend: {kind: sagemaker, instance_type: ...}``);
2. environment variables ``LOCLAB_SAGEMAKER_<FIELD>`` (``LOCLAB_SAGEMAKER_ROLE_ARN``...;
   lists comma-separated, mappings as ``k=v,k2=v2``);
3. the project defaults file ``loclab.yaml`` at the project root, section ``sagemaker:``;
4. for ``region`` only, the standard ``AWS_REGION`` / ``AWS_DEFAULT_REGION``;
5. built-in defaults (see :class:`SageMakerSettings`).

``region``, ``role_arn``, ``bucket`` and ``image_uri`` have no default; ``loclab validate`` names
each missing one and where to set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from loclab.exceptions import Problem
from loclab.spec._base import Duration, SpecModel, parse_duration

__all__ = [
    "DEFAULTS_FILE",
    "ENV_PREFIX",
    "REQUIRED_SAGEMAKER",
    "BackendSpec",
    "SageMakerSettings",
    "resolve_sagemaker",
    "spec_words",
]

#: Project-level SageMaker defaults: ``<project root>/loclab.yaml``, section ``sagemaker:``.
DEFAULTS_FILE = "loclab.yaml"
#: Prefix of the environment variables that set SageMaker fields.
ENV_PREFIX = "LOCLAB_SAGEMAKER_"
#: Fields without a default.
REQUIRED_SAGEMAKER = ("region", "role_arn", "bucket", "image_uri")
_AWS_REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")


def _non_negative_duration(value: Any) -> float | None:
    if value in (0, "0", 0.0):
        return 0.0
    return parse_duration(value)


class _SageMakerFields(SpecModel):
    """The SageMaker fields, shared by the spec section (all optional) and the settings."""

    region: str | None = None
    role_arn: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    image_uri: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    volume_gb: int | None = None
    max_runtime: Duration | None = None
    spot: bool | None = None
    max_wait: Duration | None = None
    keep_alive: float | None = None
    subnets: list[str] | None = None
    security_groups: list[str] | None = None
    tags: dict[str, str] | None = None
    environment: dict[str, str] | None = None
    mlflow_tracking_uri: str | None = None
    metrics: list[str] | None = None
    code_dirs: list[str] | None = None
    poll_interval_s: float | None = Field(default=None, ge=0)
    metrics_interval_s: float | None = Field(default=None, ge=0)

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _keep_alive(cls, value: Any) -> Any:
        return _non_negative_duration(value)


SAGEMAKER_FIELDS = tuple(_SageMakerFields.model_fields)
#: A module to import early: ``pkg.mod`` or ``pkg.mod:name1,name2``.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_IMPORT = rf"{_NAME}(\.{_NAME})*(:{_NAME}(,{_NAME})*)?"


class BackendSpec(_SageMakerFields):
    """Where jobs run: ``backend: local`` (default), ``backend: sagemaker``, or a mapping.

    Attributes:
        kind: ``local`` runs each job as a local process; ``sagemaker`` as a training job.
        region: AWS region of the jobs and the bucket (e.g. ``eu-west-1``).
        role_arn: IAM role the jobs run as (see ``iam/training-role-policy.json``).
        bucket: S3 bucket for code, data, checkpoints and outputs.
        prefix: Key prefix inside the bucket (default ``loclab``).
        image_uri: The training image in ECR (built from the project's ``Dockerfile``).
        instance_type: e.g. ``ml.m5.xlarge`` (default) or ``ml.g5.xlarge``.
        instance_count: Instances per job; 1 for now.
        volume_gb: Storage volume per instance (default 30).
        max_runtime: SageMaker stops a job after this long (default ``1d``).
        spot: Managed spot training: cheaper, may be interrupted and resumed from checkpoints.
        max_wait: With ``spot``, the longest wait for capacity plus the run; must exceed
            ``max_runtime``.
        keep_alive: Warm pool: keep the instance this long after a job for the next one
            (0, the default, releases it at once).
        subnets: VPC subnets (optional; with ``security_groups``).
        security_groups: VPC security groups (optional; with ``subnets``).
        tags: AWS tags on every job (cost allocation).
        environment: Extra environment variables of the training container.
        mlflow_tracking_uri: MLflow server URL or SageMaker-managed MLflow ARN the jobs log to.
        metrics: Metric names SageMaker extracts from the job log (the sweep metric and the
            compare metrics are always included).
        code_dirs: Project folders shipped with every job and put on ``PYTHONPATH``
            (default ``lib``).
        poll_interval_s: Least time between two ``DescribeTrainingJob`` calls of one job
            (default 15 s: states change in minutes, and a sweep polls many jobs against one
            API rate limit).
        metrics_interval_s: Least time between two reads of a job's metrics from S3
            (default 10 s).
        warm: Local only: keep a warm standby per worker, a job process whose kernel has
            already imported what the notebook imports (default on; ``false`` starts every
            job cold).
        warm_imports: Local only: the modules a standby imports (``pkg.mod``, or
            ``pkg.mod:name1,name2`` for ``from pkg.mod import name1, name2``) instead of
            those the notebook's import statements name.
        fork: Local only, with ``warm``: standbys' kernels are forked from a process that
            imported those modules once (default on; ``false``: each standby's kernel
            imports them itself).
    """

    kind: Literal["local", "sagemaker"] = "local"
    warm: bool = True
    warm_imports: list[str] | None = None
    fork: bool = True

    @field_validator("warm_imports")
    @classmethod
    def _import_entries(cls, value: list[str] | None) -> list[str] | None:
        for entry in value or []:
            if not re.fullmatch(_IMPORT, entry):
                raise ValueError(
                    f"{entry!r} is not a module to import; write 'pkg.module', or "
                    "'pkg.module:name1,name2' for 'from pkg.module import name1, name2'"
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"kind": value}
        return value

    @model_validator(mode="after")
    def _only_for_sagemaker(self) -> BackendSpec:
        if self.kind == "local":
            used = self.sagemaker_fields()
            if used:
                verb = "applies" if len(used) == 1 else "apply"
                raise ValueError(
                    f"{', '.join(used)} only {verb} to kind: sagemaker (this backend is local)"
                )
        elif self.warm_imports is not None:
            raise ValueError("warm_imports only applies to kind: local (remove it)")
        return self

    def sagemaker_fields(self) -> dict[str, Any]:
        """The SageMaker fields the spec sets (the others come from elsewhere)."""
        return {k: getattr(self, k) for k in SAGEMAKER_FIELDS if getattr(self, k) is not None}


_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]*")
_MLFLOW_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-[a-zA-Z-]*/.*")


class SageMakerSettings(SpecModel):
    """Resolved SageMaker settings: every field has its value (see the module docstring)."""

    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    def origin(self, field: str) -> str:
        """Where ``field``'s value came from: ``in the spec``, ``from $VAR``, ``default``..."""
        return self._origins.get(field, "default")

    region: str
    role_arn: str
    bucket: str
    image_uri: str
    prefix: str = "loclab"
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_gb: int = 30
    max_runtime: Duration = 86400.0
    spot: bool = False
    max_wait: Duration | None = None
    keep_alive: float = 0.0
    subnets: list[str] = Field(default_factory=list)
    security_groups: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    mlflow_tracking_uri: str | None = None
    metrics: list[str] = Field(default_factory=list)
    code_dirs: list[str] = Field(default_factory=lambda: ["lib"])
    poll_interval_s: float = Field(default=15.0, ge=0)
    metrics_interval_s: float = Field(default=10.0, ge=0)

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _keep_alive(cls, value: Any) -> Any:
        return _non_negative_duration(value)

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        known = _sagemaker_regions()
        if known and value not in known:
            import difflib

            # Regions differ by one digit at the end; prefer a suggestion that keeps it.
            ranked = max(
                sorted(known),
                key=lambda r: (
                    difflib.SequenceMatcher(None, value, r).ratio(),
                    r[-1] == value[-1],
                ),
            )
            close = ranked if difflib.SequenceMatcher(None, value, ranked).ratio() >= 0.6 else None
            hint = f"; did you mean '{close}'?" if close else ""
            raise ValueError(f"'{value}' is not a region with SageMaker{hint}")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if value.startswith("s3://"):
            raise ValueError(f"give the bucket name only, without s3:// ('{value[5:]}')")
        from loclab.aws.s3 import BUCKET_NAME

        if not BUCKET_NAME.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a valid S3 bucket name (3 to 63 lower-case letters, digits, "
                "dots and hyphens)"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not _PREFIX.fullmatch(value):
            raise ValueError(f"'{value}' is not a safe S3 key prefix (letters, digits, - _ . /)")
        return value

    @field_validator("instance_count")
    @classmethod
    def _one_instance(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"is {value}; only single-instance jobs are supported (use 1)")
        return value

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _reachable_tracking(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("arn:"):
            if not _MLFLOW_ARN.fullmatch(value):
                raise ValueError(
                    f"'{value}' is not a SageMaker MLflow ARN "
                    "(arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>)"
                )
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"'{value}' cannot be reached from a SageMaker job; use an http(s):// MLflow "
                "server or a SageMaker MLflow ARN"
            )
        return value

    @field_validator("code_dirs")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        for item in value:
            if Path(item).is_absolute() or ".." in Path(item).parts:
                raise ValueError(f"'{item}' must be a folder inside the project")
        return value


@lru_cache(maxsize=1)
def _sagemaker_regions() -> frozenset[str]:
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - botocore is a dependency
        return frozenset()
    session = botocore.session.get_session()
    found: set[str] = set()
    for partition in session.get_available_partitions():
        found.update(session.get_available_regions("sagemaker", partition_name=partition))
    return frozenset(found)


def _env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _where_to_set(field: str, root: Path) -> str:
    extra = " or AWS_DEFAULT_REGION" if field == "region" else ""
    return (
        f"set backend.{field} in the spec, ${_env_name(field)}{extra}, or {field} under "
        f"'sagemaker:' in {root / DEFAULTS_FILE}"
    )


def _parse_env(field: str, text: str) -> Any:
    """Environment text → the field's shape (lists comma-separated, mappings ``k=v,...``)."""
    annotation = str(_SageMakerFields.model_fields[field].annotation)
    if "list" in annotation:
        return [item.strip() for item in text.split(",") if item.strip()]
    if "dict" in annotation:
        out: dict[str, str] = {}
        for item in text.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected k=v pairs separated by commas, got {item!r}")
            out[key.strip()] = value.strip()
        return out
    if "bool" in annotation:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    return text.strip()


def _read_defaults(root: Path) -> tuple[dict[str, Any], list[Problem]]:
    path = root / DEFAULTS_FILE
    if not path.is_file():
        return {}, []
    import yaml

    shown = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        return {}, [Problem(shown, "", f"invalid YAML: {what}", "fix the syntax")]
    section = data.get("sagemaker") if isinstance(data, dict) else None
    if section is None:
        return {}, []
    if not isinstance(section, dict):
        return {}, [Problem(shown, "sagemaker", "expected a mapping of settings", "")]
    from loclab.params.validate import did_you_mean

    problems = []
    values = {}
    for key, value in section.items():
        if key not in SAGEMAKER_FIELDS:
            close = did_you_mean(str(key), SAGEMAKER_FIELDS)
            fix = f"did you mean '{close}'?" if close else f"valid: {', '.join(SAGEMAKER_FIELDS)}"
            problems.append(Problem(shown, f"sagemaker.{key}", "unknown key", fix))
        else:
            values[key] = value
    return values, problems


def resolve_sagemaker(
    backend: BackendSpec,
    *,
    root: Path,
    source: str,
    environ: Mapping[str, str],
) -> tuple[SageMakerSettings | None, list[Problem]]:
    """Merge the spec, the environment, ``loclab.yaml`` and the defaults into settings.

    Args:
        backend: The spec's section.
        root: The project root (where ``loclab.yaml`` is).
        source: The spec file as shown to the user.
        environ: The environment the command line was started with.

    Returns:
        The settings (None when something is missing or invalid) and the problems, each naming
        the field and where its value came from.
    """
    defaults, problems = _read_defaults(root)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    explicit = backend.sagemaker_fields()
    for field in SAGEMAKER_FIELDS:
        var = _env_name(field)
        if field in explicit:
            merged[field], origin[field] = explicit[field], "in the spec"
        elif environ.get(var, "") != "":
            try:
                merged[field] = _parse_env(field, environ[var])
            except ValueError as err:
                problems.append(Problem(source, f"backend.{field}", f"${var}: {err}", ""))
                continue
            origin[field] = f"from ${var}"
        elif field in defaults:
            merged[field] = defaults[field]
            origin[field] = f"from {DEFAULTS_FILE} (sagemaker.{field})"
        elif field == "region":
            for aws_var in _AWS_REGION_VARS:
                if environ.get(aws_var):
                    merged[field], origin[field] = environ[aws_var], f"from ${aws_var}"
                    break
    for field in REQUIRED_SAGEMAKER:
        if field not in merged and not any(p.field == f"backend.{field}" for p in problems):
            problems.append(
                Problem(
                    source,
                    f"backend.{field}",
                    "is required for backend: sagemaker but is not set",
                    _where_to_set(field, root),
                )
            )
    if problems:
        return None, problems
    from pydantic import ValidationError

    try:
        settings = SageMakerSettings.model_validate(merged)
    except ValidationError as err:
        for e in err.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            message = str(e["msg"]).removeprefix("Value error, ")
            fix = f"got {e.get('input')!r}" if e["type"].endswith(("_parsing", "_type")) else ""
            where = origin.get(field, "")
            if where and where != "in the spec":
                message = f"{message} ({where})"
            problems.append(Problem(source, f"backend.{field}", message, fix))
        return None, problems
    settings._origins.update(origin)
    return settings, []


#: Request names in rule messages → the spec fields a user edits.
_SPEC_WORDS = (
    ("MaxRuntimeInSeconds", "backend.max_runtime"),
    ("MaxWaitTimeInSeconds", "backend.max_wait"),
    ("set keep_alive", "set backend.keep_alive"),
    ("or spot to", "or backend.spot to"),
)


def spec_words(text: str) -> str:
    """A request rule's message in the spec's words (``backend.max_runtime``...)."""
    for old, new in _SPEC_WORDS:
        text = text.replace(old, new)
    return text
