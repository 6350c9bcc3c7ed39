"""A run: its settings, the executor that drives Ray Data through the steps, the run store, its rows, metrics,
progress, summary and cost, the monthly schedule and the review of its results."""
