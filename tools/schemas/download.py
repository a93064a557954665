"""Fill the schema cache from the pinned upstream sources in `lock.json`, verifying every file.

Lock format (`files`: cache path -> entry):
- `url`: the pinned upstream file (raw file at a commit, or a chart package of a fixed version);
- `sha256`: of the file as written to the cache;
- for files derived from the artifact at `url` (`derive`: `member` of a chart package, `crd-jsonschema`,
  `action-inputs`, see derive.py): `url_sha256` of the artifact, checked before anything reads it.
`charts` (chart dir -> repo, path, ref, version) becomes `helm/SOURCES.md`, where the Helm values check
reads the release version of charts whose `Chart.yaml` in git is a template (cert-manager).

A mirror replaces every upstream base: `<mirror>/<host>/<path>` for `https://<host>/<path>`, the layout
`wget --force-directories` produces from the list `python -m tools.schemas urls` prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tools.schemas.derive import DeriveError, derive

LOCK = Path(__file__).with_name("lock.json")
TIMEOUT = 60
ATTEMPTS = 3
MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "platform-schemas (make schemas)"


class FetchError(Exception):
    pass


@dataclass
class Result:
    verified: list[str] = field(default_factory=list)  # already in the cache with the right checksum
    downloaded: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_lock(path: Path = LOCK) -> dict[str, Any]:
    return json.loads(path.read_text())


def upstream_urls(lock: dict[str, Any]) -> list[str]:
    return sorted({entry["url"] for entry in lock["files"].values()})


def mirror_url(url: str, mirror: str | None) -> str:
    """`url` as served by `mirror` (an http(s)/file URL or a local directory), or `url` itself."""
    if not mirror:
        return url
    if "://" not in mirror:
        mirror = Path(mirror).resolve().as_uri()
    return f"{mirror.rstrip('/')}/{url.split('://', 1)[1]}"


def _transient(error: Exception) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    if isinstance(error, urllib.error.URLError):
        return not isinstance(error.reason, FileNotFoundError | IsADirectoryError | PermissionError)
    return isinstance(error, TimeoutError | ConnectionError)


def fetch(url: str, *, attempts: int = ATTEMPTS) -> bytes:
    """The body at `url` (http, https or file), retrying transient network errors only."""
    if not url.startswith(("https://", "http://", "file://")):
        raise FetchError(f"unsupported URL scheme: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - schemes checked
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                data = response.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise FetchError(f"larger than {MAX_BYTES} bytes: {url}")
            return data
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if attempt < attempts and _transient(error):
                time.sleep(attempt)
                continue
            if isinstance(error, urllib.error.HTTPError):
                raise FetchError(f"HTTP {error.code} from {url}") from None
            reason = getattr(error, "reason", error)
            if isinstance(reason, FileNotFoundError):
                raise FetchError(f"not found: {url}") from None
            raise FetchError(f"{reason} ({url})") from None
    raise AssertionError("unreachable")


def _cache_path(cache: Path, path: str) -> Path:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"lock path {path!r} must stay inside the cache")
    return cache.joinpath(*relative.parts)


def _write(target: Path, data: bytes) -> None:
    """Atomic: a reader sees the old file, no file, or the whole verified file; never a partial one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        temporary.write_bytes(data)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _file_ok(target: Path, expected: str) -> bool:
    try:
        return sha256(target.read_bytes()) == expected
    except OSError:
        return False


def sources_md(lock: dict[str, Any]) -> str:
    """`helm/SOURCES.md` in the format tests/harness/helm_values.py reads (`- dir | repo | path | ref | version`)."""
    lines = [
        "# Helm chart reference data (written by `make schemas` from tools/schemas/lock.json)",
        "Format: chart dir here | repo | path | ref | chart version",
        "",
    ]
    for name, chart in sorted(lock["charts"].items()):
        lines.append(f"- {name} | {chart['repo']} | {chart['path']} | {chart['ref']} | {chart['version']}")
    return "\n".join(lines) + "\n"


def _artifacts(
    wanted: dict[str, dict[str, Any]], mirror: str | None, workers: int
) -> Iterable[tuple[str, list[str], bytes | None, str | None]]:
    """(url, cache paths, body or None, error) for every distinct upstream URL of `wanted`."""
    by_url: dict[str, list[str]] = defaultdict(list)
    for path, entry in sorted(wanted.items()):
        by_url[entry["url"]].append(path)

    def one(url: str) -> tuple[str, list[str], bytes | None, str | None]:
        source = mirror_url(url, mirror)
        try:
            return url, by_url[url], fetch(source), None
        except FetchError as error:
            return url, by_url[url], None, str(error)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        yield from pool.map(one, sorted(by_url))


def sync(
    cache: Path,
    *,
    lock: dict[str, Any] | None = None,
    mirror: str | None = None,
    workers: int = 8,
    log: Callable[[str], None] = lambda _line: None,
) -> Result:
    """Make `cache` hold every file of the lock with its checksum; download only what is missing or wrong."""
    lock = lock if lock is not None else load_lock()
    result = Result()
    wanted: dict[str, dict[str, Any]] = {}
    for path, entry in sorted(lock["files"].items()):
        target = _cache_path(cache, path)
        if _file_ok(target, entry["sha256"]):
            result.verified.append(path)
        else:
            target.unlink(missing_ok=True)  # outdated or corrupt: never left for the tests to read
            wanted[path] = entry
    for url, paths, data, error in _artifacts(wanted, mirror, workers):
        if data is None:
            result.errors.extend(f"{path}: {error}" for path in paths)
            continue
        for path in paths:
            entry = wanted[path]
            expected_artifact = entry.get("url_sha256")
            if expected_artifact and sha256(data) != expected_artifact:
                result.errors.append(
                    f"{path}: checksum mismatch of {mirror_url(url, mirror)} "
                    f"(sha256 {sha256(data)}, the lock says {expected_artifact}); not written"
                )
                continue
            try:
                content = derive(entry, path, data)
            except DeriveError as error:
                result.errors.append(f"{path}: {error} ({mirror_url(url, mirror)}); not written")
                continue
            if sha256(content) != entry["sha256"]:
                result.errors.append(
                    f"{path}: checksum mismatch (sha256 {sha256(content)}, the lock says {entry['sha256']}) "
                    f"from {mirror_url(url, mirror)}; not written"
                )
                continue
            _write(_cache_path(cache, path), content)
            result.downloaded.append(path)
            log(f"  {path}")
    sources = _cache_path(cache, "helm/SOURCES.md")
    text = sources_md(lock)
    if not sources.is_file() or sources.read_text() != text:
        _write(sources, text.encode())
    result.errors.sort()
    return result


def relock(lock: dict[str, Any], *, mirror: str | None = None, workers: int = 8) -> tuple[dict[str, Any], list[str]]:
    """The lock with every checksum recomputed from what the sources serve now (for a reviewed update)."""
    new = json.loads(json.dumps(lock))
    errors: list[str] = []
    for url, paths, data, error in _artifacts(new["files"], mirror, workers):
        if data is None:
            errors.extend(f"{path}: {error}" for path in paths)
            continue
        for path in paths:
            entry = new["files"][path]
            if entry.get("derive"):
                entry["url_sha256"] = sha256(data)
            try:
                entry["sha256"] = sha256(derive(entry, path, data))
            except DeriveError as derive_error:
                errors.append(f"{path}: {derive_error} ({url})")
    return new, sorted(errors)


def check_dir(root: Path, lock: dict[str, Any] | None = None) -> list[str]:
    """Every lock file that `root` (a schema directory such as ../shared/schemas) lacks or holds otherwise."""
    lock = lock if lock is not None else load_lock()
    problems = []
    for path, entry in sorted(lock["files"].items()):
        target = _cache_path(root, path)
        if not target.is_file():
            problems.append(f"{path}: missing in {root}")
        elif sha256(target.read_bytes()) != entry["sha256"]:
            problems.append(f"{path}: sha256 {sha256(target.read_bytes())} in {root}, the lock says {entry['sha256']}")
    return problems
