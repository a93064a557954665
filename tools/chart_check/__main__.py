"""`python -m tools.chart_check` (`make chart-check`): render every Helm release of both stacks with the
program's values and check the objects. Exit 0: no finding (allow-listed ones aside); 1: findings (one a line
on stdout); 2: usage, or an allow-list that is not acceptable (tools/chart_check/allowlist.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.chart_check import allowlist, releases, source
from tools.chart_check.run import Options, run

STACKS = ("local", "remote")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; the defaults come from the environment and the test harness."""
    from tests.harness.schemas import KUBERNETES_VERSION

    parser = argparse.ArgumentParser(prog="python -m tools.chart_check", description=__doc__)
    parser.add_argument("--stack", action="append", choices=STACKS, help="a stack to check (default: both)")
    parser.add_argument(
        "--chart-dir",
        type=Path,
        default=source.chart_dir_from_env(),
        help=f"air-gapped: read <chart>-<version>.tgz or <chart>-<version>/ from here, never download "
        f"(default: ${source.CHART_DIR_ENV})",
    )
    parser.add_argument("--cache", type=Path, default=source.DEFAULT_CACHE, help="where pulled charts are kept")
    parser.add_argument(
        "--kube-version",
        default=KUBERNETES_VERSION,
        help="the target Kubernetes version (default: %(default)s, the version the schemas are checked for)",
    )
    parser.add_argument(
        "--allowlist",
        type=Path,
        default=allowlist.DEFAULT,
        help="the reviewed findings accepted on purpose (default: tools/chart_check/allowlist.yaml)",
    )
    parser.add_argument("--no-checkov", action="store_true", help="skip checkov (it needs .venv-checkov)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the check over the program's releases; print findings and the summary."""
    args = parse(argv)
    from tests.harness import schemas

    # The schema checks follow the target version (kubernetes-validate ships 1.25 to 1.37).
    schemas.KUBERNETES_VERSION = args.kube_version.removeprefix("v")
    crd_dir = os.environ.get("CRD_SCHEMA_DIR")
    if not crd_dir or not Path(crd_dir).is_dir():
        print(
            "chart-check: CRD_SCHEMA_DIR must name the CRD schema directory (make chart-check sets it)", file=sys.stderr
        )
        return 2
    try:
        allowed = tuple(allowlist.load(args.allowlist))
    except allowlist.AllowListError as error:
        print(f"chart-check: {error}", file=sys.stderr)
        return 2
    options = Options(
        kube_version=args.kube_version.removeprefix("v"),
        chart_dir=args.chart_dir,
        cache=args.cache,
        crd_schema_dir=Path(crd_dir) if crd_dir else None,
        checkov=not args.no_checkov,
        allowed=allowed,
    )
    deployment = releases.from_program(args.stack or STACKS)
    summary = run(deployment, options)
    for line in summary.lines():
        print(line)
    print(summary.text(), file=sys.stderr)
    return 1 if summary.findings else 0


if __name__ == "__main__":
    sys.exit(main())
