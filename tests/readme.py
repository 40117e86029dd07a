"""Following the README as a newcomer would: its code blocks, run by bash line by line in a
folder of their own that holds only the project's `.venv`, placeholders filled in."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

WEEKDAY_MORNING = {
    "RUHEPULS_QUIET_HOURS": "24-0",
    "RUHEPULS_WORKDAYS": "mon-sun",
    "RUHEPULS_TICK_CRON": "* * * * * *",
}
"""For the worker: no quiet hours, every day a working day, a tick every second."""


def clone(tmp_path: Path) -> Path:
    """A folder with nothing but the project's `.venv` (the README's commands start there)."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "ruhepuls").exists():
        pytest.skip("the README's commands need the project installed in a venv (.venv/bin/ruhepuls)")
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / ".venv").symlink_to(venv)
    return folder


def blocks(start: str, end: str) -> list[str]:
    """The code blocks of the README between two of its lines (dedented)."""
    readme = (REPO / "README.md").read_text()
    part = readme[readme.index(start) : readme.index(end)]
    return [textwrap.dedent(b) for _, b in re.findall(r"^( *)```\n(.*?)^\1```", part, re.M | re.S)]


def statements(block: str) -> list[str]:
    """A block's shell statements: one per line, a heredoc with its body."""
    out: list[str] = []
    lines = iter(block.splitlines())
    for line in lines:
        if not line.strip():
            continue
        if (m := re.search(r"<<'?(\w+)'?", line)) is not None:
            body = [line]
            for more in lines:
                body.append(more)
                if more.strip() == m.group(1):
                    break
            out.append("\n".join(body))
        else:
            out.append(line)
    return out


class Shell:
    """Runs README lines in `folder`, as a newcomer's terminal would, placeholders filled in."""

    def __init__(self, folder: Path, env: dict[str, str], values: dict[str, str]) -> None:
        self.folder, self.env, self.values = folder, env, values
        self.background: list[subprocess.Popen[str]] = []

    def fill(self, line: str) -> str:
        for placeholder, value in self.values.items():
            line = line.replace(placeholder, value)
        unknown = re.findall(r"<[^<>\n]*[ '][^<>\n]*>", line.split("<<", 1)[0] if "<<" in line else line)
        assert not unknown, f"a README placeholder this test does not fill: {unknown}"
        return line

    def run(self, line: str) -> str:
        out = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.fill(line)],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, f"{line}\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def start(self, line: str, name: str, **extra: str) -> None:
        log = (self.folder / f"{name}.log").open("w")
        self.background.append(
            subprocess.Popen(
                ["bash", "-c", f"exec {self.fill(line)}"],
                cwd=self.folder,
                env={**self.env, **extra},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )

    def stop(self) -> None:
        for proc in self.background:
            proc.terminate()
        for proc in self.background:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
