"""Run pytest against the scale-out stack: a real PostgreSQL database and a Redis channel layer.

    python -m tests.rig.stack chat hobbies -q

Django reads DATABASE_URL and REDIS_URL when pytest-django imports the settings, before any
fixture runs, so the servers are started here, around the pytest process.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.rig.components import IN_CI
from tests.rig.databases import PostgresServer, RedisServer, postgres_bin_dir

STACK = "postgres-redis"


def main(pytest_args: list[str]) -> int:
    import shutil

    missing = [
        name
        for name, found in [("PostgreSQL", postgres_bin_dir()), ("redis-server", shutil.which("redis-server"))]
        if not found
    ]
    if missing:
        print(f"stack: {', '.join(missing)} missing; make test installs them", file=sys.stderr)
        return 1 if IN_CI else 0
    postgres, redis = PostgresServer().start(), RedisServer().start()
    try:
        env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": redis.url, "TEST_STACK": STACK}
        print(f"stack: PostgreSQL on {postgres.port}, Redis on {redis.port}", flush=True)
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)
    finally:
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
