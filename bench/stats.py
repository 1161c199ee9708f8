"""GET /instances/{name}/stats with 50 running instances, against the engine CLI.

    python bench/stats.py docker|podman [--instances 50] [--requests 500]

Prints p50 and p95 of our stats call and of ``<engine> stats --no-stream NAME``
measured in the same run, and their ratio. Target: at least 20 times faster.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time

from harness import KeepAlive, Server, percentile, scratch, summary, terminate_all

ROUNDS = 10
TARGET = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["docker", "podman"])
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cli-runs", type=int, default=40)
    args = parser.parse_args()

    with scratch() as workdir:
        server = Server(args.engine, workdir)
        with server.running() as client:
            names = [f"bench-{i:03d}" for i in range(args.instances)]
            try:
                for name in names:
                    response = client.post(
                        "/instances/create", json={"name": name, "package": "Bench"}
                    )
                    response.raise_for_status()
                containers = [f"hostmgr-{name}" for name in names]

                # Ours and the CLI take turns, a batch each, so that the noise of
                # a shared machine falls on both alike.
                lean = KeepAlive(server)
                ours, cli = [], []
                for _ in range(ROUNDS):
                    for _ in range(args.requests // ROUNDS):
                        name = random.choice(names)  # noqa: S311
                        started = time.perf_counter()
                        status, body = lean.get(f"/instances/{name}/stats")
                        ours.append(time.perf_counter() - started)
                        assert status == 200 and body["instance_status"] == "running"
                    for _ in range(args.cli_runs // ROUNDS):
                        container = random.choice(containers)  # noqa: S311
                        started = time.perf_counter()
                        subprocess.run(
                            [args.engine, "stats", "--no-stream", container],
                            env=server.engine_env,
                            check=True,
                            capture_output=True,
                        )
                        cli.append(time.perf_counter() - started)
                lean.close()
            finally:
                terminate_all(client)

    print(f"stats with {args.instances} running instances on {args.engine}")
    print(summary("hostmgr GET /instances/NAME/stats", ours))
    print(summary(f"{args.engine} stats --no-stream NAME", cli))
    for label, fraction in (("p50", 0.5), ("p95", 0.95)):
        ratio = percentile(cli, fraction) / percentile(ours, fraction)
        verdict = "met" if ratio >= TARGET else "not met"
        print(f"{label}: hostmgr is {ratio:.1f}x faster (target: {TARGET}x, {verdict})")


if __name__ == "__main__":
    main()
