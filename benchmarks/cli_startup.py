"""Wall time of `cfmcp --help` (goal: median <= 0.25 s). Prints a table; not a test.

Usage: .venv/bin/python benchmarks/cli_startup.py [--runs N]

When the median is over the goal, it also lists the heaviest imports behind `import
cfmcp.cli` (from `python -X importtime`), i.e. what to make lazy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS = 0.25
ROOT = Path(__file__).resolve().parent.parent


def time_command(command: list[str], runs: int) -> list[float]:
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(command, capture_output=True, check=True, env=env)  # warm the disk cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - start)
    return samples


def heaviest_imports(limit: int = 12) -> list[tuple[float, str]]:
    """(cumulative s, module) of the slowest imports two levels under `import cfmcp.cli`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cfmcp.cli"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth <= 1:
            rows.append((int(parts[1]) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--imports", action="store_true", help="always list the heaviest imports")
    args = parser.parse_args()
    commands = {"python -m cfmcp --help": [sys.executable, "-m", "cfmcp", "--help"]}
    script = shutil.which("cfmcp", path=str(Path(sys.executable).parent))
    if script:
        commands["cfmcp --help"] = [script, "--help"]
    baseline = [sys.executable, "-c", "pass"]
    print(f"{'command':<28}{'median':>10}{'min':>10}{'max':>10}")
    medians = {}
    for label, command in {**commands, "python -c pass (floor)": baseline}.items():
        samples = time_command(command, args.runs)
        medians[label] = statistics.median(samples)
        print(f"{label:<28}{medians[label]:>9.3f}s{min(samples):>9.3f}s{max(samples):>9.3f}s")
    worst = max(v for k, v in medians.items() if "floor" not in k)
    verdict = "OK" if worst <= GOAL_SECONDS else "OVER"
    print(f"\ngoal: median <= {GOAL_SECONDS:.2f} s -> {verdict} ({worst:.3f} s, {args.runs} runs)")
    if worst > GOAL_SECONDS or args.imports:
        print("\nheaviest imports behind `import cfmcp.cli` (cumulative):")
        for seconds, name in heaviest_imports():
            print(f"  {seconds:>7.3f}s  {name.strip()}")


if __name__ == "__main__":
    main()
