"""tools/changelog.py, which `make release-protos` runs: on a copy of the changelog."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "changelog.py"

HEAD = "# Changelog\n\nWhat changed.\n\n"


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_release_dates_the_unreleased_entries_and_leaves_an_empty_section(
    tmp_path: Path,
) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(
        HEAD + "## Unreleased\n\n### API\n\n- A new call.\n\n## 2026-01-02\n\n- Older.\n"
    )
    assert _run(path, "check").returncode == 0
    result = _run(path, "release", "--date", "2026-11-30")
    assert result.returncode == 0, result.stderr
    assert path.read_text() == (
        HEAD + "## Unreleased\n\n"
        "## 2026-11-30\n\n### API\n\n- A new call.\n\n"
        "## 2026-01-02\n\n- Older.\n"
    )

    # Nothing new since: the next release is refused and writes nothing.
    before = path.read_text()
    for args in (("check",), ("release", "--date", "2026-12-01")):
        refused = _run(path, *args)
        assert refused.returncode == 1
        assert "nothing under '## Unreleased'" in refused.stderr
        assert path.read_text() == before


def test_a_second_release_on_the_same_day_gets_a_heading_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(HEAD + "## Unreleased\n\n- Second.\n\n## 2026-11-30\n\n- First.\n")
    assert _run(path, "release", "--date", "2026-11-30").returncode == 0
    assert path.read_text() == (
        HEAD + "## Unreleased\n\n## 2026-11-30 (2)\n\n- Second.\n\n## 2026-11-30\n\n- First.\n"
    )


def test_the_first_release_of_a_changelog_and_a_bad_date(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(HEAD + "## Unreleased\n\n- Everything.")
    assert _run(path, "release", "--date", "30.11.2026").returncode == 1
    assert _run(path, "release", "--date", "2026-11-30").returncode == 0
    assert path.read_text() == HEAD + "## Unreleased\n\n## 2026-11-30\n\n- Everything.\n"


def test_the_projects_changelog_can_be_released(tmp_path: Path) -> None:
    """CHANGELOG.md itself has one Unreleased section the script can read."""
    path = tmp_path / "CHANGELOG.md"
    shutil.copy(ROOT / "CHANGELOG.md", path)
    check = _run(path, "check")
    if check.returncode != 0:
        # Just released: an empty Unreleased section is the one refusal allowed.
        assert "nothing under '## Unreleased'" in check.stderr
        return
    assert _run(path, "release", "--date", "2099-01-01").returncode == 0
    text = path.read_text()
    assert "## Unreleased\n\n## 2099-01-01\n\n" in text
    assert _run(path, "check").returncode == 1
