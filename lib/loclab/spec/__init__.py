"""Experiment specs: YAML parsed and validated once, at the boundary, into typed objects."""

from loclab.spec.backend import BackendSpec
from loclab.spec.compare import CompareSpec, SystemSpec
from loclab.spec.load import Experiment, find_project_root, load_experiment, load_spec
from loclab.spec.model import Spec
from loclab.spec.report import ReportSpec
from loclab.spec.schedule import AlertTarget, ScheduleSpec, resolve_alerts
from loclab.spec.sweep import SpaceEntry, SweepSpec

__all__ = [
    "AlertTarget",
    "BackendSpec",
    "CompareSpec",
    "Experiment",
    "ReportSpec",
    "ScheduleSpec",
    "SpaceEntry",
    "Spec",
    "SweepSpec",
    "SystemSpec",
    "find_project_root",
    "load_experiment",
    "load_spec",
    "resolve_alerts",
]
