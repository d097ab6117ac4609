"""Every command block in README.md and docs/*.md runs as written.

The convention (for everyone who writes docs)
---------------------------------------------
* Every fenced block opened with ```bash (or ```sh) in README.md and docs/*.md is a list of
  commands a reader types from the repository's folder after ``source scripts/setup``.
* The blocks of one file run in order, in one bash shell, in a fresh copy of the repository
  (without .git, .venv, out/ and caches), with the test environment's .venv on PATH exactly as
  ``source scripts/setup`` puts it there. A later block may use what an earlier one wrote or
  set (files, ``cd``, variables). The shell stops at the first failing command
  (``set -eo pipefail``): write ``cmd || true`` for a command that is meant to fail.
* Each block must finish within :data:`BLOCK_TIME_LIMIT_S`. A block that takes more than
  about 30 s on a quiet 2-core machine gets, on the line right before its opening fence,
      <!-- docs-test: skip (the reason, e.g. "meshes the full default sample, ~2 min") -->
  (an HTML comment: invisible to readers). Such a block is not run but still checked: its
  syntax (``bash -n``), each ``rhizofem <command>`` names a known command, and each file it
  reads (a repository path or a file name with an extension) exists in the repository or is
  written by an earlier block of the same file or by the block itself (``> file``,
  ``--out DIR``, ``mkdir``, ``cp``/``mv`` targets). Absolute paths, ``~`` and ``$VARIABLE``
  paths are not checked.
* Blocks of other languages (```toml, ```python, ```text ...) are not run.
"""

from __future__ import annotations

import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, end_process_tree, subprocess_env
from rhizofem.cli import COMMANDS

#: seconds per block: ~30 s on a quiet machine with room for a loaded, shared one
BLOCK_TIME_LIMIT_S = 180
SHELLS = ("bash", "sh")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*(?:\((?P<reason>[^)]*)\))?\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
#: extensions of files a command reads (besides paths with a folder part)
DATA_SUFFIXES = {".toml", ".npy", ".npz", ".msh", ".py", ".csv", ".json", ".tif", ".tiff", ".raw", ".bin",
                 ".rsml", ".xdmf", ".h5", ".vti", ".sh", ".txt", ".md", ".yaml", ".yml"}
#: options and operators whose next word is written, not read
WRITES_NEXT = {">", ">>", "--out", "-o", "--output", "--json", "--csv", "tee", "&>", "2>"}
IGNORED_COPY = shutil.ignore_patterns(".git", ".venv", "out", "results", "__pycache__", ".pytest_cache",
                                      "*.egg-info", "build", ".mypy_cache", ".ruff_cache")


@dataclass
class Block:
    file: Path
    line: int  # of the opening fence, 1-based
    text: str
    skip: str | None = None  # the reason, if marked

    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


@dataclass
class Page:
    file: Path
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse(file: Path) -> Page:
    """The shell blocks of a Markdown file, with their skip markers."""
    page = Page(file)
    lines = file.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group("fence"), i
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if j == len(lines):
            page.problems.append(f"{file.relative_to(ROOT)}:{start + 1}: a code block is never closed")
            break
        if m.group("lang").lower() in SHELLS:
            indent = len(m.group("indent"))
            body = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[start + 1:j])
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            marker = SKIP.search(lines[k]) if k >= 0 else None
            block = Block(file, start + 1, body + "\n")
            if marker:
                block.skip = (marker.group("reason") or "").strip()
                if not block.skip:
                    page.problems.append(f"{block.where()}: a docs-test skip marker needs its reason: "
                                         "<!-- docs-test: skip (why) -->")
            elif k >= 0 and "docs-test" in lines[k]:
                page.problems.append(f"{block.where()}: malformed marker {lines[k].strip()!r}; write "
                                     "<!-- docs-test: skip (why) -->")
            page.blocks.append(block)
        i = j + 1
    return page


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


PAGES = [parse(f) for f in doc_files()]


# -- static checks -------------------------------------------------------------------------


def commands(text: str) -> list[list[str]]:
    """The simple commands of a block as word lists (heredoc bodies and comments left out)."""
    out: list[list[str]] = []
    logical, heredoc = "", None
    for raw in text.splitlines():
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            continue
        line = logical + raw
        if line.endswith("\\"):
            logical = line[:-1] + " "
            continue
        logical = ""
        m = re.search(r"<<-?\s*(['\"]?)(\w+)\1", line)
        if m:
            heredoc = m.group(2)
            line = line[:m.start()] + line[m.end():]
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError:
            continue  # unbalanced quotes: bash -n reports it
        current: list[str] = []
        for w in words:
            if w in (";", "&&", "||", "|", "&", "(", ")"):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(w)
        if current:
            out.append(current)
    return out


def _path_like(word: str) -> bool:
    if not word or word.startswith(("-", "/", "~")) or any(c in word for c in "$*?=:{}[] \t\"'"):
        return False
    return "/" in word.strip("./") or Path(word).suffix.lower() in DATA_SUFFIXES


def reads_and_writes(words: list[str]) -> tuple[list[str], list[str]]:
    """Paths a simple command reads and writes (a heuristic: see the module docstring)."""
    program = Path(words[0]).name
    plain = [w for w in words[1:] if not w.startswith("-")]
    if program in ("mkdir", "touch"):
        return [], plain
    if program in ("cp", "mv", "ln"):
        return [w for w in plain[:-1] if _path_like(w)], plain[-1:]
    text_only = program in ("echo", "printf")  # their words are text, only redirections count
    reads, writes, previous = [], [], None
    for i, w in enumerate(words):
        if previous in WRITES_NEXT:
            writes.append(w)
        elif w not in WRITES_NEXT and not (text_only and i > 0) and _path_like(w):
            reads.append(w)
        previous = w
    return reads, writes


#: words after `rhizofem` that are programs (`docker run IMAGE mpiexec ...`), not commands
PROGRAMS = ("mpiexec", "mpirun", "python", "python3", "bash", "sh")


def command_problems(block: Block) -> list[str]:
    """Bash syntax, and `rhizofem <command>` with a command that exists."""
    problems = []
    syntax = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    if syntax.returncode != 0:
        problems.append(f"{block.where()}: bash syntax error: {syntax.stderr.strip()}")
    for words in commands(block.text):
        for w, nxt in zip(words, words[1:], strict=False):
            if w == "rhizofem" and re.fullmatch(r"[a-z][a-z_-]*", nxt) and nxt not in COMMANDS \
                    and nxt not in PROGRAMS:
                problems.append(f"{block.where()}: `rhizofem {nxt}` is not a command (known: {', '.join(COMMANDS)})")
    return problems


def _known(path: str, cwd: Path, written: list[Path]) -> bool:
    p = (cwd / path).resolve()
    return p.exists() or any(p == w or p.is_relative_to(w) for w in written)


def static_problems(block: Block, cwd: Path, written: list[Path]) -> list[str]:
    """What is checked of a block that is not run: syntax, commands, files it reads."""
    problems = command_problems(block)
    own = _outputs(block, cwd)
    for words in commands(block.text):
        if words[0] == "cd" and len(words) > 1 and not any(c in words[1] for c in "$~"):
            cwd = (cwd / words[1]).resolve()
            continue
        reads, _ = reads_and_writes(words)
        for r in reads:
            if not _known(r, cwd, written + own):
                problems.append(f"{block.where()}: `{' '.join(words)}` reads {r}, which neither exists in the "
                                "repository nor is written by an earlier block")
    return problems


def _outputs(block: Block, cwd: Path) -> list[Path]:
    written = []
    for words in commands(block.text):
        _, writes = reads_and_writes(words)
        written += [(cwd / w).resolve() for w in writes]
    return written


@pytest.mark.parametrize("page", PAGES, ids=[str(p.file.relative_to(ROOT)) for p in PAGES])
def test_doc_blocks_are_well_formed(page):
    """Closed fences, markers with reasons, bash syntax and known commands (quick: nothing runs)."""
    problems = list(page.problems)
    for block in page.blocks:
        problems += command_problems(block)
    assert not problems, "\n".join(problems)


# -- running -------------------------------------------------------------------------------


class Shell:
    """One bash process that runs the blocks of a page in order (state carries over)."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(["bash", "--norc", "--noprofile"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                     env=env, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send("set -eo pipefail")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def run(self, script: Path, time_limit_s: float) -> tuple[str, list[str], Path | None]:
        """Source ``script``; returns ("ok" | "failed N" | "timeout", output lines, cwd after)."""
        token = f"__docs_test_{uuid.uuid4().hex}__"
        self.send(f"source {shlex.quote(str(script))} < /dev/null\necho \"{token} $PWD\"")
        output: list[str] = []
        end = time.monotonic() + time_limit_s
        while True:
            try:
                line = self.lines.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                end_process_tree(self.proc)
                return "timeout", output, None
            if line is None:
                return f"failed with exit status {self.proc.wait()}", output, None
            if line.startswith(token):
                return "ok", output, Path(line[len(token):].strip())
            output.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        end_process_tree(self.proc)


def fresh_copy(dest: Path) -> Path:
    """The repository's files as a new clone has them (no .git, .venv, outputs, caches)."""
    shutil.copytree(ROOT, dest, ignore=IGNORED_COPY, symlinks=True)
    return dest


RUNNABLE = [p for p in PAGES if p.blocks]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.file.relative_to(ROOT)) for p in RUNNABLE])
def test_doc_commands_run_as_written(page, tmp_path):
    repo = fresh_copy(tmp_path / "rhizofem")
    venv = Path(sys.executable).parent.parent
    env = subprocess_env(RHIZOFEM_VENV=str(venv), RHIZOFEM_SETUP_CHECK="1", PYTHONPATH=str(repo),
                         HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    env.pop("VIRTUAL_ENV", None)
    shell = Shell(repo, env)
    try:
        # what `source scripts/setup` gives a reader, whether or not the page repeats it
        status, output, cwd = shell.run(_script(tmp_path, "setup", "source scripts/setup\n"), 120)
        assert status == "ok", "source scripts/setup failed in the copy:\n" + "\n".join(output[-20:])
        written: list[Path] = []
        problems: list[str] = []
        for n, block in enumerate(page.blocks):
            if block.skip is not None:
                problems += static_problems(block, cwd, written)
                written += _outputs(block, cwd)
                continue
            start = time.monotonic()
            status, output, new_cwd = shell.run(_script(tmp_path, f"block{n}", block.text), BLOCK_TIME_LIMIT_S)
            took = time.monotonic() - start
            if status == "timeout":
                pytest.fail(f"{block.where()}: still running after {BLOCK_TIME_LIMIT_S} s. Make it quicker or mark "
                            "it <!-- docs-test: skip (reason) -->\n" + "\n".join(output[-30:]))
            if status != "ok":
                pytest.fail(f"{block.where()}: {status} after {took:.0f} s:\n{block.text}\n--- output:\n"
                            + "\n".join(output[-40:]))
            cwd = new_cwd
        assert not problems, "\n".join(problems)
    finally:
        shell.close()


def _script(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.sh"
    path.write_text(text, encoding="utf-8")
    return path


def test_static_checks_find_what_is_wrong():
    """The checker of skipped blocks reports unknown commands, missing files and bad syntax."""
    good = Block(ROOT / "README.md", 1, "rhizofem sample meshes/small_sample.toml --out out/s\n"
                                        "cat > c.toml <<'EOF'\n[mesh]\npath = \"x/y.msh\"\nEOF\n"
                                        "mpiexec -n 2 rhizofem mesh out/s/mesh.toml --out out/m\n"
                                        "rhizofem exudation c.toml --out out/e\n")
    assert static_problems(good, ROOT, []) == []
    bad = Block(ROOT / "README.md", 7, "rhizofem exudate c.toml --out o\nrhizofem mesh missing/mesh.toml --out o\n"
                                       "if then\n")
    found = static_problems(bad, ROOT, [])
    assert any("`rhizofem exudate` is not a command" in p for p in found)
    assert any("reads missing/mesh.toml" in p for p in found)
    assert any("reads c.toml" in p for p in found)
    assert any("syntax error" in p for p in found)
    # a file written by an earlier block counts
    assert static_problems(Block(ROOT / "README.md", 9, "rhizofem exudation c.toml --out o\n"), ROOT,
                           [(ROOT / "c.toml").resolve()]) == []
