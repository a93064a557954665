"""Fixture charts for the chart-check tests: tests/fixtures/charts/, copied under another name/version."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from components.settings.versions import CHARTS

CHARTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "charts"


def copy_as(fixture: str, directory: Path, name: str, version: str) -> Path:
    """`tests/fixtures/charts/<fixture>` as chart `name` `version` in `<directory>/<name>-<version>/`."""
    target = directory / f"{name}-{version}"
    shutil.copytree(CHARTS_DIR / fixture, target)
    chart_yaml = target / "Chart.yaml"
    text = re.sub(r"(?m)^name: .*$", f"name: {name}", chart_yaml.read_text())
    chart_yaml.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", text))
    return target


def pinned_chart_dir(directory: Path, breaking: tuple[str, ...] = ()) -> Path:
    """A CHART_DIR with every pinned chart of components/settings/versions.py: `psa-breaking` for the
    keys in `breaking`, `psa-clean` for the others."""
    for key, chart in CHARTS.items():
        if not (directory / f"{chart.name}-{chart.version}").exists():
            copy_as("psa-breaking" if key in breaking else "psa-clean", directory, chart.name, chart.version)
    return directory
