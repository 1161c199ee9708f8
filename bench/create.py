"""Time from create to running, against a raw ``<engine> run`` of the same spec.

    python bench/create.py docker|podman [--runs 10]

Ours is the wall time of POST /instances/create, which answers once the
container runs. The baseline creates the same volume and runs the same
container (limits, 127.0.0.1 port, user, capabilities, restart policy) with
the engine's CLI. Target: at most 1.3 times the raw run.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from harness import Server, free_port, percentile, scratch, summary, terminate_all

from tests.standin import IMAGE

TARGET = 1.3


def raw_run(engine: str, env: dict[str, str], name: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [engine, "volume", "create", f"{name}-data"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            engine,
            "run",
            "-d",
            "--name",
            name,
            "-p",
            f"127.0.0.1:{free_port()}:5678",
            "-v",
            f"{name}-data:/home/node/.n8n",
            "--user",
            "1000:1000",
            "--memory",
            "256m",
            "--memory-swap",
            "256m",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--pids-limit",
            "1024",
            "--restart",
            "unless-stopped",
            "--security-opt",
            "no-new-privileges",
            "--cap-drop",
            "ALL",
            "-e",
            "N8N_HOST=raw.example.com",
            "-e",
            "N8N_PORT=5678",
            f"{IMAGE}:latest",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    subprocess.run([engine, "rm", "-f", name], env=env, capture_output=True)
    subprocess.run(
        [engine, "volume", "rm", "-f", f"{name}-data"], env=env, capture_output=True
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["docker", "podman"])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    ours, raw = [], []
    with scratch() as workdir:
        server = Server(args.engine, workdir)
        with server.running() as client:
            try:
                for run in range(args.runs + 1):
                    name = f"bench-create-{run}"
                    started = time.perf_counter()
                    response = client.post(
                        "/instances/create", json={"name": name, "package": "Bench"}
                    )
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    client.post(f"/instances/{name}/terminate").raise_for_status()
                    baseline = raw_run(
                        args.engine, server.engine_env, f"bench-raw-{run}"
                    )
                    if run:  # the first pair warms caches on both sides
                        ours.append(elapsed)
                        raw.append(baseline)
            finally:
                terminate_all(client)

    print(f"create to running on {args.engine}")
    print(summary("hostmgr POST /instances/create", ours))
    print(summary(f"{args.engine} volume create + run -d", raw))
    ratio = percentile(ours, 0.5) / percentile(raw, 0.5)
    verdict = "met" if ratio <= TARGET else "not met"
    print(
        f"p50: hostmgr takes {ratio:.2f}x the raw run "
        f"(target: at most {TARGET}x, {verdict})"
    )


if __name__ == "__main__":
    main()
