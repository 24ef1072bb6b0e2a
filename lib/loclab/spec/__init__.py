"""Experiment specs: YAML parsed and validated once, at the boundary, into typed objects."""

from loclab.spec._channels import Fetch, RemoteSource
from loclab.spec.backend import BackendSpec
from loclab.spec.compare import CompareSpec, SystemSpec
from loclab.spec.load import (
    ROOT_MARKERS,
    Experiment,
    find_project_root,
    load_experiment,
    load_spec,
    project_root,
)
from loclab.spec.model import Spec
from loclab.spec.report import ReportSpec
from loclab.spec.schedule import AlertTarget, ScheduleSpec, resolve_alerts
from loclab.spec.sweep import SpaceEntry, SweepSpec

__all__ = [
    "ROOT_MARKERS",
    "AlertTarget",
    "BackendSpec",
    "CompareSpec",
    "Experiment",
    "Fetch",
    "RemoteSource",
    "ReportSpec",
    "ScheduleSpec",
    "SpaceEntry",
    "Spec",
    "SweepSpec",
    "SystemSpec",
    "find_project_root",
    "load_experiment",
    "load_spec",
    "project_root",
    "resolve_alerts",
]
