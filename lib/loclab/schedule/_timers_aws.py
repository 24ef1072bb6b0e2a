"""EventBridge Scheduler calls: upload the project, create, list and delete schedules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from loclab.aws.clients import AwsClients, error_code, error_message, is_not_found
from loclab.aws.errors import AwsCallError
from loclab.aws.s3 import S3Stager, join_uri, parse_s3_uri
from loclab.schedule._eventbridge import SCHEDULE_GROUP

if TYPE_CHECKING:
    from loclab.schedule.timers import EventBridgePlan

__all__ = ["EventBridgeTimers", "ScheduleInfo"]

_FIXES = {
    "AccessDeniedException": "the caller lacks a permission: see iam/user-policy.json",
    "ValidationException": "loclab's offline validation missed this; please report it",
}


@dataclass(frozen=True)
class ScheduleInfo:
    """A loclab schedule as EventBridge Scheduler describes it.

    Attributes:
        name: The schedule's name.
        expression: ``cron(...)``.
        timezone: ``ScheduleExpressionTimezone``.
        state: ``ENABLED`` or ``DISABLED``.
        description: What it runs (the spec and the project).
        state_uri: Where its ticks keep state and logs (from the target's arguments).
        last_log: The newest tick log on S3 and the exit status it ends with.
    """

    name: str
    expression: str
    timezone: str
    state: str
    description: str
    state_uri: str | None
    last_log: tuple[str, int | None] | None


class EventBridgeTimers:
    """Creates, lists and deletes the schedules of the ``loclab`` schedule group.

    Args:
        clients: AWS clients of the schedules' region (endpoints from the standard
            variables, so a moto server on 127.0.0.1 answers in tests).
    """

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self.scheduler = clients.client("scheduler")
        self.stager = S3Stager(clients.s3, clients.retry)

    def _raise(self, operation: str, err: Exception) -> NoReturn:
        code = error_code(err)
        if code is None:
            raise err
        raise AwsCallError(operation, code, error_message(err), _FIXES.get(code, "")) from None

    def _call(self, operation: str, method: str, **kwargs: Any) -> Any:
        try:
            return self.clients.retry.call(getattr(self.scheduler, method), **kwargs)
        except Exception as err:
            self._raise(operation, err)

    def install(self, plan: EventBridgePlan) -> tuple[str, bool]:
        """Upload the project and local channels, then create or replace the schedule.

        Returns:
            The schedule's ARN and True when it was created (False: replaced).

        Raises:
            AwsCallError: AWS refused a call.
        """
        files, prefix, manifest = plan.code
        self.stager.upload_bundle(files, prefix, manifest)
        for files, prefix, manifest in plan.channels.values():
            self.stager.upload_bundle(files, prefix, manifest)
        self.ensure_group()
        request = dict(plan.request)
        try:
            found = self.clients.retry.call(self.scheduler.create_schedule, **request)
            return str(found["ScheduleArn"]), True
        except Exception as err:
            if error_code(err) != "ConflictException":
                self._raise("CreateSchedule", err)
        # Installed before: the same name is replaced as a whole (UpdateSchedule takes every
        # field, and a field left out is reset).
        found = self._call("UpdateSchedule", "update_schedule", **request)
        return str(found["ScheduleArn"]), False

    def ensure_group(self) -> None:
        """Create the ``loclab`` schedule group unless it exists."""
        try:
            self.clients.retry.call(self.scheduler.get_schedule_group, Name=SCHEDULE_GROUP)
            return
        except Exception as err:
            if not is_not_found(err):
                self._raise("GetScheduleGroup", err)
        self._call(
            "CreateScheduleGroup",
            "create_schedule_group",
            Name=SCHEDULE_GROUP,
            Tags=[{"Key": "loclab", "Value": "schedules"}],
        )

    def remove(self, name: str) -> bool:
        """Delete the schedule ``name``; False when there is none.

        Raises:
            AwsCallError: AWS refused the call.
        """
        try:
            self.clients.retry.call(
                self.scheduler.delete_schedule, Name=name, GroupName=SCHEDULE_GROUP
            )
        except Exception as err:
            if is_not_found(err):
                return False
            self._raise("DeleteSchedule", err)
        return True

    def describe(self, name: str) -> dict[str, Any] | None:
        """``GetSchedule`` of ``name`` (None when there is none)."""
        try:
            found = self.clients.retry.call(
                self.scheduler.get_schedule, Name=name, GroupName=SCHEDULE_GROUP
            )
        except Exception as err:
            if is_not_found(err):
                return None
            raise
        return dict(found)

    def list(self) -> list[ScheduleInfo]:
        """Every schedule of the ``loclab`` group, with its newest tick log."""
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"GroupName": SCHEDULE_GROUP}
            if token:
                kwargs["NextToken"] = token
            try:
                page = self.clients.retry.call(self.scheduler.list_schedules, **kwargs)
            except Exception as err:
                if is_not_found(err):
                    return []
                raise
            names += [str(s["Name"]) for s in page.get("Schedules", [])]
            token = page.get("NextToken")
            if not token:
                break
        out: list[ScheduleInfo] = []
        for name in sorted(names):
            found = self.describe(name)
            if found is None:
                continue
            state = _state_of(found)
            out.append(
                ScheduleInfo(
                    name=name,
                    expression=str(found.get("ScheduleExpression", "")),
                    timezone=str(found.get("ScheduleExpressionTimezone") or "UTC"),
                    state=str(found.get("State", "")),
                    description=str(found.get("Description") or ""),
                    state_uri=state,
                    last_log=self.last_log(state) if state else None,
                )
            )
        return out

    def last_log(self, state: str) -> tuple[str, int | None] | None:
        """The newest tick log under ``state`` and the exit status it ends with."""
        logs = sorted(k for k in self.stager.list_keys(join_uri(state, "logs")) if k)
        if not logs:
            return None
        uri = join_uri(state, "logs", logs[-1])
        bucket, key = parse_s3_uri(uri)
        body = self.clients.retry.call(self.clients.s3.get_object, Bucket=bucket, Key=key)
        status: int | None = None
        for line in body["Body"].read().decode("utf-8", "replace").splitlines():
            if line.startswith("[loclab] exit "):
                tail = line.removeprefix("[loclab] exit ").strip()
                status = int(tail) if tail.isdigit() else None
        return uri, status


def _state_of(schedule: dict[str, Any]) -> str | None:
    """The ``--state`` argument of a schedule's training job."""
    text = (schedule.get("Target") or {}).get("Input")
    if not isinstance(text, str):
        return None
    try:
        job = json.loads(text)
    except ValueError:
        return None
    arguments = (job.get("AlgorithmSpecification") or {}).get("ContainerArguments") or []
    for i, arg in enumerate(arguments[:-1]):
        if arg == "--state":
            return str(arguments[i + 1])
    return None
