"""Load a spec and check everything that can be checked before anything runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from loclab.exceptions import SpecError
from loclab.spec import Experiment, Fetch, load_experiment

__all__ = ["prepare_experiment"]


def prepare_experiment(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    environ: Mapping[str, str],
    channel_paths: Mapping[str, str | Path] | None = None,
    fetch: Fetch | None = None,
) -> Experiment:
    """The experiment of a spec file, checked completely; nothing is run or written.

    (With ``fetch``, remote channels missing from the state cache are downloaded into it.)

    The spec is checked against its notebook and the command line
    (:func:`loclab.spec.load_experiment`); with ``backend: sagemaker`` every request the
    experiment can send is built by the real planners and validated offline against
    botocore's service model.

    Args:
        path: The spec file.
        overrides: ``name=value`` items from ``-p``.
        environ: The environment the command was started with.
        channel_paths: Channels pointed elsewhere (``--channel NAME=PATH``).
        fetch: Fetches ``s3://`` and ``https://`` channels into the state cache (a
            :class:`loclab.run.channels.ChannelFetcher`); None: they are checked for form only.

    Raises:
        SpecError: Everything wrong, one problem per line.
    """
    exp = load_experiment(
        path, overrides, environ=environ, channel_paths=channel_paths, fetch=fetch
    )
    if exp.sagemaker is not None:
        from loclab.execution.backends.sagemaker import validate_experiment

        problems = validate_experiment(exp)
        if problems:
            raise SpecError(problems)
    return exp
