"""One real one-node Ray for the whole test session (Ray has no local mode): 2 CPUs, no dashboard, no usage
statistics. Without Ray the tests that need it skip, except in CI, where a missing Ray fails (`require`)."""
import os

import pytest


@pytest.fixture(scope="session")
def ray_session(require):
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError:
        ray = None
    require(ray is not None, 'Ray is not installed (pip install "spacy-mner[ray]", or make setup)')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
