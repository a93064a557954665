"""`python -m tools.schemas [download|urls|check|relock]` (`make schemas` runs `download`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tools.schemas.download import LOCK, check_dir, load_lock, relock, sync, upstream_urls

DEFAULT_CACHE = Path(".cache/schemas")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.schemas", description=__doc__)
    parser.add_argument("--lock", type=Path, default=LOCK, help="the lock file (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    mirror_help = "replaces every upstream base: <mirror>/<host>/<path> (default: $SCHEMA_MIRROR)"

    download = commands.add_parser("download", help="fill the cache, verifying every file's sha256")
    download.add_argument("--cache", type=Path, default=Path(os.environ.get("SCHEMA_CACHE") or DEFAULT_CACHE))
    download.add_argument("--mirror", default=os.environ.get("SCHEMA_MIRROR") or None, help=mirror_help)
    download.add_argument("--verbose", "-v", action="store_true")

    commands.add_parser("urls", help="the upstream URLs, one a line (to build a mirror: wget -x -i -)")

    check = commands.add_parser("check", help="compare a schema directory (e.g. ../shared/schemas) to the lock")
    check.add_argument("root", type=Path)

    update = commands.add_parser("relock", help="recompute every checksum from the sources (review the diff!)")
    update.add_argument("--mirror", default=os.environ.get("SCHEMA_MIRROR") or None, help=mirror_help)

    args = parser.parse_args(argv)
    lock = load_lock(args.lock)
    if args.command == "urls":
        print("\n".join(upstream_urls(lock)))
        return 0
    if args.command == "check":
        problems = check_dir(args.root, lock)
        print("\n".join(problems) or f"{args.root}: all {len(lock['files'])} files match {args.lock}")
        return 1 if problems else 0
    if args.command == "relock":
        new, errors = relock(lock, mirror=args.mirror)
        if errors:
            print("\n".join(f"schemas: {e}" for e in errors), file=sys.stderr)
            return 1
        args.lock.write_text(json.dumps(new, indent=2) + "\n")
        print(f"{args.lock}: {len(new['files'])} files")
        return 0

    result = sync(args.cache, lock=lock, mirror=args.mirror, log=print if args.verbose else lambda _line: None)
    where = f"mirror {args.mirror}" if args.mirror else "upstream"
    if result.errors:
        for error in result.errors:
            print(f"schemas: {error}", file=sys.stderr)
        hint = (
            f"the mirror must serve <mirror>/<host>/<path> for every URL of `python -m tools.schemas urls` ({where})"
            if args.mirror
            else "offline or behind a proxy? set SCHEMA_MIRROR to a mirror (URL or directory), see README"
        )
        print(f"schemas: {len(result.errors)} of {len(lock['files'])} files failed; {hint}", file=sys.stderr)
        return 1
    print(
        f"schemas: {len(lock['files'])} files verified in {args.cache} "
        f"({len(result.downloaded)} downloaded from {where})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
