"""Run every install line of the README's "from a clone" block in a fresh venv, as a new user would.

Each venv sees the shared heavy packages (torch, transformers, ...) of the interpreter running this script
through a .pth file, and installs with ``--no-index``: so a line that forgets a distribution that is on no
index (``t2v-hf``) fails here exactly as it fails for a user, without downloading anything. After each line,
``t2v plugins --json`` must list the plugins the line installs.

    python scripts/check_readme_install.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def install_lines(readme: Path) -> list[str]:
    """The ``pip install`` lines between the README's install-from-clone markers."""
    text = readme.read_text()
    m = re.search(r"<!-- install-from-clone -->(.*?)<!-- /install-from-clone -->", text, re.S)
    if m is None:
        raise SystemExit(f"{readme}: no <!-- install-from-clone --> block")
    return [ln.split("#")[0].strip() for ln in m.group(1).splitlines() if ln.strip().startswith("pip install")]


def check(line: str, workdir: Path) -> None:
    """Install ``line`` into a fresh venv and check that the plugins it names are discovered."""
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    shared = [sysconfig.get_paths()["purelib"]] + [p for p in sys.path if Path(p).is_dir() and (
        p.endswith(("site-packages", "dist-packages")) or "_shared" in p)]
    Path(site, "shared-base.pth").write_text("\n".join(dict.fromkeys(shared)) + "\n")
    args = shlex.split(line)[2:]  # after "pip install"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", *args],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"README install line failed: {line}\n{r.stdout}{r.stderr}")
    r = subprocess.run([str(venv / "bin" / "t2v"), "plugins", "--json"], capture_output=True, text=True,
                       cwd=workdir)
    if r.returncode != 0:
        raise SystemExit(f"after `{line}`, `t2v plugins` failed:\n{r.stderr}")
    found = {p["distribution"] for p in json.loads(r.stdout)}
    wanted = {Path(a).name for a in args if a.startswith("plugins/")}
    wanted -= {"t2v-hf"} if "t2v-hf" not in found else set()  # a library plugin may register nothing
    if not wanted <= found:
        raise SystemExit(f"after `{line}`, `t2v plugins` lists {sorted(found)}, missing {sorted(wanted - found)}")
    print(f"ok: {line}  ->  {sorted(found)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="check only the lines containing this text")
    args = ap.parse_args()
    lines = [ln for ln in install_lines(ROOT / "README.md") if not args.only or args.only in ln]
    if not lines:
        raise SystemExit("no install line selected")
    for line in lines:
        with tempfile.TemporaryDirectory() as d:
            check(line, Path(d))


if __name__ == "__main__":
    main()
