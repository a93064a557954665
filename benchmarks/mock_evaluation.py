"""Print how long each stack takes to evaluate under mocks, against the bare SDK imports, and the first deploy's
critical path (nodes the engine creates one after another) and the Flux dependsOn depth.

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
    print_graph_metrics()


def print_graph_metrics() -> None:
    """Critical path by the registered dependencies (issue 14's measure; target <= 12) and counting provider
    waits too (the engine's real order: Kubernetes provider first, pulumi-vault provider before Vault's config)."""
    from tests.harness.dependencies import critical_path, flux_depth
    from tests.harness.program import run_stack

    for stack in ("local", "remote"):
        run = run_stack(stack)
        path = critical_path(run)
        with_providers = critical_path(run, providers=True)
        waits = f"{len(with_providers)} with provider waits"
        print(f"stack {stack}: critical path {len(path)} nodes ({waits}): {' -> '.join(path)}")
    print(f"stack remote: Flux dependsOn depth {flux_depth(run_stack('remote'))}")


if __name__ == "__main__":
    main()
