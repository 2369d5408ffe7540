"""The README stays true for a newcomer: no references to documents outside the
repository, no internal jargon, links that resolve, a layout that names every folder."""

import re
import subprocess
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
README = (BASE_DIR / "README.md").read_text()


def test_no_reference_to_documents_outside_the_repository():
    assert "DESIGN.md" not in README
    assert "shared/" not in README


def test_no_internal_jargon():
    assert not re.search(r"\bseed \d", README, flags=re.IGNORECASE)
    # "issue 22", "the sizes" (the verb, "each run issues a token", is fine).
    assert not re.search(r"\bissue(?: \d|'s|s? #)", README, flags=re.IGNORECASE)


def test_every_relative_link_resolves():
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    relative = [t for t in targets if not re.match(r"[a-z]+:", t)]

    assert relative  # the README links to its neighbours
    assert [t for t in relative if not (BASE_DIR / t).exists()] == []


def test_the_layout_names_every_top_level_folder_and_file_kind():
    layout = README.split("## Layout", 1)[1]
    tracked = subprocess.run(
        ["git", "ls-files"],  # noqa: S607 (git, fixed arguments)
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    folders = {path.split("/")[0] for path in tracked if "/" in path}

    missing = [folder for folder in sorted(folders) if f"{folder}/" not in layout]

    assert missing == []


def test_the_two_ways_to_try_it_and_all_three_platforms_are_described():
    assert "manage.py seed_demo" in README
    assert "docker compose --profile demo up" in README
    for variable in ("ABILLITY_API_URL", "AFFINITY_API_URL", "CONNECT_API_URL"):
        assert variable in README


def test_the_benchmark_summary_points_at_the_results_file():
    assert "bench/RESULTS.md" in README
    assert (BASE_DIR / "bench" / "RESULTS.md").read_text().count("<!-- results:") == 2
