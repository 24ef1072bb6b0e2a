"""Tracking: MLflow runs for experiments and jobs, and the provenance tags they carry."""

from loclab.tracking.provenance import provenance
from loclab.tracking.tracker import Tracker, default_tracking_uri

__all__ = ["Tracker", "default_tracking_uri", "provenance"]
