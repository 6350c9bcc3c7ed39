"""How the product starts a Ray node of its own (no address given): for a run's extraction and for training."""

from __future__ import annotations

import os
from typing import Any

WORKER_NICENESS_ENV = "RAY_worker_niceness"


def local_node_options() -> dict[str, Any]:
    """`ray.init` options for a node started here (a cluster joined by address keeps its own settings)."""
    options: dict[str, Any] = {"include_dashboard": False}
    if WORKER_NICENESS_ENV not in os.environ:
        # Ray starts its workers at nice 15, below the driver. Here the workers are the job (the engine, the trainer),
        # so beside any other work on the machine their threads got slivers of a core and waited for each other: a
        # 2-minute run took over 15 beside one busy process. They run at the priority the command was started with
        # (`nice fieldmill run` still lowers all of it); RAY_worker_niceness set by the user wins.
        options["_system_config"] = {"worker_niceness": 0}
    return options
