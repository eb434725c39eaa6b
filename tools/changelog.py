"""Dates CHANGELOG.md's Unreleased entries for `make release-protos`.

    python tools/changelog.py check             # is there anything to release?
    python tools/changelog.py release [--date D]

``release`` moves what is under ``## Unreleased`` to a new ``## D`` section
below it (D is today in UTC unless given) and leaves Unreleased empty for
the next changes. Both refuse an empty Unreleased section: a release whose
entry says nothing leaves clients guessing what changed.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

UNRELEASED = "## Unreleased"
DEFAULT_FILE = Path(__file__).resolve().parent.parent / "CHANGELOG.md"


class ChangelogError(Exception):
    pass


def _split(text: str) -> tuple[list[str], list[str], list[str]]:
    """The lines before the Unreleased section's body, its body, and the rest."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == UNRELEASED]
    if len(starts) != 1:
        raise ChangelogError(f"expected one '{UNRELEASED}' heading, found {len(starts)}")
    start = starts[0] + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith("## ")),
        len(lines),
    )
    return lines[:start], lines[start:end], lines[end:]


def _unreleased_body(text: str) -> list[str]:
    _, body, _ = _split(text)
    while body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body = body[:-1]
    if not body:
        raise ChangelogError(
            f"nothing under '{UNRELEASED}': write what this release changes before releasing"
        )
    return body


def release(text: str, date: str) -> str:
    """The changelog with the Unreleased entries moved under a heading for ``date``."""
    body = _unreleased_body(text)
    head, _, rest = _split(text)
    existing = {line.rstrip() for line in text.splitlines()}
    heading = f"## {date}"
    n = 2
    while heading in existing:
        heading = f"## {date} ({n})"
        n += 1
    last = body[-1] if body[-1].endswith("\n") else body[-1] + "\n"
    released = ["\n", heading + "\n", "\n", *body[:-1], last]
    if rest:
        released.append("\n")
    return "".join([*head, *released, *rest])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["check", "release"])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument(
        "--date",
        default=datetime.datetime.now(datetime.UTC).date().isoformat(),
        help="the release's date, YYYY-MM-DD (default: today in UTC)",
    )
    args = parser.parse_args(argv)
    try:
        datetime.date.fromisoformat(args.date)
        text = args.file.read_text(encoding="utf-8")
        if args.action == "check":
            _unreleased_body(text)
        else:
            args.file.write_text(release(text, args.date), encoding="utf-8")
    except (ChangelogError, ValueError) as error:
        print(f"{args.file.name}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
