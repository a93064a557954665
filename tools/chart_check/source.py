"""Where a pinned chart comes from: a local directory for air-gapped users, else its repository.

`CHART_DIR=<dir>` (or `--chart-dir`): the chart is read from `<dir>/<chart>-<version>.tgz` (what
`helm pull` writes), `<dir>/<chart>-<version>/` (a chart directory, or one holding `<chart>/` as
`helm pull --untar` leaves it); nothing is downloaded. Otherwise the archive is pulled through the Helm
engine (`helm_python.pull`: HTTP repositories and `oci://` references) into a cache directory, once per
repository, chart and version. Either way the loaded chart's name and version must be the pinned ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import helm_python as helm

from tools.chart_check.releases import ReleaseSpec

CHART_DIR_ENV = "CHART_DIR"
DEFAULT_CACHE = Path(".cache/charts")


class ChartUnavailable(Exception):
    """The pinned chart is neither in the local directory nor obtainable from its repository."""


def chart_dir_from_env() -> Path | None:
    """`$CHART_DIR` as a path, or None when unset."""
    value = os.environ.get(CHART_DIR_ENV)
    return Path(value) if value else None


def candidates(directory: Path, chart: str, version: str) -> list[Path]:
    """The layouts a local chart directory may use, in the order they are tried."""
    base = directory / f"{chart}-{version}"
    return [base.with_name(base.name + ".tgz"), base / "Chart.yaml", base / chart / "Chart.yaml"]


def from_directory(directory: Path, chart: str, version: str) -> Path:
    """The chart archive or directory for `chart` `version` under `directory` (air-gapped use)."""
    if not directory.is_dir():
        raise ChartUnavailable(f"{CHART_DIR_ENV}={directory} is not a directory")
    for candidate in candidates(directory, chart, version):
        if candidate.is_file():
            return candidate.parent if candidate.name == "Chart.yaml" else candidate
    tried = ", ".join(str(c) for c in candidates(directory, chart, version))
    raise ChartUnavailable(f"{chart} {version} is not in {directory} (tried {tried})")


def _cache_folder(cache: Path, repo: str) -> Path:
    """One cache folder per repository: two repositories may publish the same chart name and version."""
    return cache / (re.sub(r"[^A-Za-z0-9._-]+", "_", repo).strip("_") or "local")


def pull(spec: ReleaseSpec, cache: Path) -> Path:
    """The chart archive from its repository (HTTP index or `oci://`), downloaded once into `cache`."""
    folder = _cache_folder(cache, spec.repo)
    archive = folder / f"{spec.chart}-{spec.version}.tgz"
    if archive.is_file():
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    oci = spec.repo.startswith("oci://")
    try:
        helm.pull(
            f"{spec.repo.rstrip('/')}/{spec.chart}" if oci else spec.chart,
            repo_url=None if oci else spec.repo,
            version=spec.version,
            destination=folder,
        )
    except helm.HelmError as error:
        raise ChartUnavailable(f"{spec.chart} {spec.version} from {spec.repo}: {error}") from error
    if not archive.is_file():
        found = ", ".join(p.name for p in folder.glob(f"{spec.chart}-*.tgz")) or "nothing"
        raise ChartUnavailable(f"pulling {spec.chart} {spec.version} from {spec.repo} wrote {found}")
    return archive


def locate(spec: ReleaseSpec, *, chart_dir: Path | None, cache: Path = DEFAULT_CACHE) -> Path:
    """The pinned chart of a release: from `chart_dir` when given (never downloading), else pulled."""
    if chart_dir is not None:
        return from_directory(chart_dir, spec.chart, spec.version)
    return pull(spec, cache)
