#!/usr/bin/env python3
"""Prove the image builds: `docker build` when a Docker daemon answers; otherwise the
Dockerfile's own build steps replayed outside Docker, in the image's environment.

Without a daemon (CI runners without Docker, this project's own CI), the Dockerfile is
read and its steps are run in order in a fresh directory:

- FROM python:X.Y...: a fresh virtualenv of that Python (it must be installed);
- ENV: the image's variables, and only them (plus PATH, HOME and where pip finds
  packages): nothing else of the machine's environment (a DATABASE_URL, a
  CELERY_BROKER_URL) leaks into the build, which is what hid its breaking before
  (production settings refusing to load at collectstatic);
- WORKDIR and COPY: the build context (the checkout's files less .dockerignore's) copied
  into a temporary directory standing for the image's WORKDIR;
- RUN: each command as written, with the WORKDIR's path replaced by the temporary one,
  except the step that creates the system user (it needs the image's root: reported as
  not replayed).

It ends by checking what the build must leave: the static files' manifest. Exit 0 when
the build (real or replayed) succeeds.

When the compose plugin is installed, `docker compose config` also checks both profiles
of docker-compose.yml (no daemon needed).

Usage: python3 .ci/image_build_check.py [--dockerfile PATH]
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_REPLAYED = ("useradd",)  # system changes that need the image's root


def docker_daemon_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)  # noqa: S607
    return probe.returncode == 0


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    steps: list[tuple[str, str]] = []
    current = ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arguments = current.partition(" ")
        steps.append((keyword.upper(), arguments.strip()))
        current = ""
    return steps


def env_pairs(arguments: str) -> dict[str, str]:
    """ENV's KEY=value pairs (the legacy "ENV KEY value" form too)."""
    words = shlex.split(arguments)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def ignored(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in path.split("/")):
                return True
        elif fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            return True
    return False


def context_files() -> list[str]:
    """The build context: the checkout's files (tracked or not, git's ignores applied),
    less .dockerignore's patterns."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [p for p in listed if (ROOT / p).is_file() and not ignored(p, patterns)]


def package_source() -> dict[str, str]:
    """Where pip finds packages on this machine (its index, wheels, proxy): the builder's
    network, as `docker build` would have it, not the image's environment."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith("PIP_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy")
    }


def replay(dockerfile: Path) -> int:
    steps = instructions(dockerfile)
    base = next(arguments for keyword, arguments in steps if keyword == "FROM")
    version = re.match(r"python:(\d+\.\d+)", base)
    if not version:
        print(f"FAIL: cannot replay FROM {base} (only python:X.Y images)")
        return 1
    python = shutil.which(f"python{version.group(1)}")
    if python is None:
        print(f"FAIL: the image's Python {version.group(1)} is not installed here")
        return 1
    files = context_files()
    with tempfile.TemporaryDirectory(prefix="image-build-") as scratch:
        scratch_path = Path(scratch)
        venv = scratch_path / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)  # noqa: S603
        env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": scratch}
        env.update(package_source())
        workdir = "/"
        image_workdir = "/"
        mapped = scratch_path / "image"

        def here(path: str) -> Path:
            return mapped / path.lstrip("/")

        def rewrite(text: str) -> str:
            return (
                text.replace(image_workdir, str(here(image_workdir)))
                if image_workdir != "/"
                else text
            )

        for keyword, arguments in steps:
            if keyword == "ENV":
                env.update({k: rewrite(v) for k, v in env_pairs(arguments).items()})
            elif keyword == "WORKDIR":
                image_workdir = workdir = arguments
                here(workdir).mkdir(parents=True, exist_ok=True)
                env.update({k: v.replace(arguments, str(here(arguments))) for k, v in env.items()})
            elif keyword == "COPY":
                *sources, destination = shlex.split(arguments)
                target = here(
                    destination if destination.startswith("/") else f"{workdir}/{destination}"
                )
                for source in sources:
                    chosen = files if source == "." else [f for f in files if f == source]
                    if not chosen:
                        print(f"FAIL: COPY {source}: not in the build context")
                        return 1
                    for name in chosen:
                        relative = name if source == "." else Path(name).name
                        into = (
                            target / relative
                            if destination.endswith("/") or source == "."
                            else target
                        )
                        into.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / name, into)
            elif keyword == "RUN":
                command = rewrite(arguments)
                if command.startswith(NOT_REPLAYED):
                    print(f"--> RUN {arguments[:70]}...  (not replayed: needs the image's root)")
                    continue
                print(f"--> RUN {arguments}")
                done = subprocess.run(  # noqa: S603
                    ["/bin/sh", "-c", command], cwd=here(workdir), env=env, check=False
                )
                if done.returncode != 0:
                    print(f"FAIL: RUN {arguments} exited {done.returncode}")
                    return 1
            elif keyword in ("FROM", "USER", "EXPOSE", "CMD", "ENTRYPOINT", "LABEL"):
                continue
            else:
                print(f"FAIL: the replay does not know Dockerfile's {keyword}")
                return 1
        manifest = here(image_workdir) / "staticfiles" / "staticfiles.json"
        if not manifest.is_file():
            print("FAIL: the build left no static files' manifest (staticfiles/staticfiles.json)")
            return 1
        print(
            f"OK: the Dockerfile's build steps ran in the image's environment ({len(files)} files)."
        )
    return 0


def compose_config_check() -> int:
    """`docker compose config` for each profile, when the compose plugin is installed (it
    needs no daemon): the file parses and interpolates as compose reads it."""
    probe = (
        subprocess.run(
            ["docker", "compose", "version"],  # noqa: S607 (docker, fixed arguments)
            capture_output=True,
            check=False,
        )
        if shutil.which("docker")
        else None
    )
    if probe is None or probe.returncode != 0:
        print("docker compose is not installed: docker-compose.yml not checked by compose.")
        return 0
    for profile in ("demo", "production"):
        print(f"--> docker compose --profile {profile} config --quiet")
        done = subprocess.run(  # noqa: S603 (docker, fixed arguments)
            ["docker", "compose", "--profile", profile, "config", "--quiet"],  # noqa: S607
            check=False,
        )
        if done.returncode != 0:
            return done.returncode
    return 0


def main(arguments: list[str]) -> int:
    os.chdir(ROOT)
    # --dockerfile PATH: another Dockerfile with the same build context (to try a change).
    dockerfile = Path(arguments[1]) if arguments[:1] == ["--dockerfile"] else ROOT / "Dockerfile"
    status = compose_config_check()
    if status:
        return status
    if docker_daemon_answers():
        print("--> docker build (a Docker daemon answers)")
        return subprocess.run(  # noqa: S603 (docker, fixed arguments)
            ["docker", "build", "--file", str(dockerfile), "--tag", "layer_sync:build-check", "."],  # noqa: S607
            check=False,
        ).returncode
    print("No Docker daemon answers: replaying the Dockerfile's build steps without Docker.")
    return replay(dockerfile)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
