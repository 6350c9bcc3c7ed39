"""The options of a Ray node the product starts itself."""

from fieldmill.run.local_ray import WORKER_NICENESS_ENV, local_node_options


def test_workers_run_at_the_commands_priority_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv(WORKER_NICENESS_ENV, raising=False)
    assert local_node_options() == {"include_dashboard": False, "_system_config": {"worker_niceness": 0}}
    monkeypatch.setenv(WORKER_NICENESS_ENV, "10")  # Ray reads the variable itself
    assert local_node_options() == {"include_dashboard": False}
