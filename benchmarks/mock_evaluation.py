"""Print how long each stack takes to evaluate under mocks, against the bare SDK imports.

Not a test: a number for the closing notes and for spotting a slow program. Run: make bench
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IMPORTS = "import pulumi, pulumi_kubernetes.core.v1, pulumi_kubernetes.apps.v1, pulumi_vault"


def time_in_fresh_process(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    return time.perf_counter() - start


def main() -> None:
    baseline = time_in_fresh_process("pass")
    imports = time_in_fresh_process(IMPORTS) - baseline
    print(f"bare imports ({IMPORTS.removeprefix('import ')}): {imports:.2f} s")
    for stack in ("local", "remote"):
        code = (
            "import time; t = time.perf_counter();"
            "from tests.harness.program import run_stack;"
            f"r = run_stack({stack!r}); print(f'{{time.perf_counter() - t:.3f}} {{len(r.registrations)}}')"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True, text=True)
        seconds, count = out.stdout.split()
        first = float(seconds)
        print(
            f"stack {stack}: first evaluation incl. imports {first:.2f} s ({count} registrations), "
            f"ratio to bare imports {first / imports:.2f}"
        )
    from tests.harness.program import run_stack

    run_stack("local")
    for stack in ("local", "remote"):
        start = time.perf_counter()
        run = run_stack(stack)
        warm = time.perf_counter() - start
        print(f"stack {stack}: warm evaluation {warm:.3f} s ({len(run.registrations)} registrations)")


if __name__ == "__main__":
    main()
