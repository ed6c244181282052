"""One real one-node Ray for the whole test session (Ray has no local mode): 2 CPUs, no dashboard, no usage
statistics. Without Ray the tests that need it skip, except in CI (CI=true), where a missing Ray fails."""
import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError:
        message = 'Ray is not installed (pip install "spacy-mner[ray]", or make setup)'
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}: CI must run the Ray tests")
        pytest.skip(message)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
