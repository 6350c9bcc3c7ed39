"""What a run costs, in the terms teams budget in: worker-seconds and money per 1,000 documents.

A *worker* is what runs one engine: a GPU (`--gpus-per-worker`, usually 1) or, on a CPU
cluster, the machine whose cores the engine uses. A run's worker-seconds are its
extraction wall time times its workers (model loading included: it is paid for too);
with a price per worker-hour (`--price-per-hour` or `FIELDMILL_PRICE_PER_HOUR`, e.g. an
H100's hourly rate) they become money. A fine-tuning run costs its training wall time
times its workers the same way.
"""

from __future__ import annotations

import os
from typing import Any


def price_per_hour(given: float | None = None) -> float | None:
    if given is not None:
        return given
    value = os.environ.get("FIELDMILL_PRICE_PER_HOUR")
    return float(value) if value else None


def run_cost(wall_s: float, workers: float, documents: int, price: float | None) -> dict[str, Any]:
    """Worker-seconds in all and per 1,000 documents, and the same in money when a price is known."""
    seconds = wall_s * workers
    out: dict[str, Any] = {"worker_seconds": round(seconds, 1), "workers": workers}
    if documents:
        out["worker_seconds_per_1k_docs"] = round(seconds / documents * 1000, 1)
    if price is not None:
        out["price_per_worker_hour"] = price
        out["cost"] = round(seconds / 3600 * price, 4)
        if documents:
            out["cost_per_1k_docs"] = round(seconds / 3600 * price / documents * 1000, 4)
    return out


def describe(cost: dict[str, Any]) -> str:
    text = f"{cost['worker_seconds']:.0f} worker-seconds ({cost['workers']:g} worker(s))"
    if "worker_seconds_per_1k_docs" in cost:
        text += f", {cost['worker_seconds_per_1k_docs']:.0f} per 1,000 documents"
    if "cost" in cost:
        text += f"; {cost['cost']:.4f} at {cost['price_per_worker_hour']:g}/worker-hour"
        if "cost_per_1k_docs" in cost:
            text += f", {cost['cost_per_1k_docs']:.4f} per 1,000 documents"
    return text


__all__ = ["run_cost", "price_per_hour", "describe"]
