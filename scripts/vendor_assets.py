"""Copy the JS/CSS folium loads from CDNs into static/vendor, so maps work offline.

Usage: ``python scripts/vendor_assets.py [--force] [--check]``

Installs package.json's packages from the npm registry with ``npm ci`` (exact versions and
integrity hashes from package-lock.json) into a temporary folder, copies the files listed in
``dashboard.maps.offline.VENDOR_FILES`` and generates the two small stylesheets folium takes from its
own GitHub repository. Idempotent: does nothing when static/vendor/.stamp matches the lock file,
the file list and the installed folium. ``--check`` only reports (exit 1 when not vendored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.maps.offline import VENDOR_DIR, VENDOR_FILES, missing_files  # noqa: E402

STAMP = VENDOR_DIR / ".stamp"


def _fingerprint() -> str:
    import folium

    data = {
        "lock": hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest(),
        "files": [f.__dict__ for f in VENDOR_FILES],
        "folium": folium.__version__,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _css_blocks(css: str) -> list[str]:
    """Split a stylesheet into top-level blocks (``selector { ... }``, brace-aware)."""
    blocks, depth, start = [], 0, 0
    for i, ch in enumerate(css):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append(css[start : i + 1].strip())
                start = i + 1
    return blocks


def _glyphicons(node_modules: Path) -> str:
    """The @font-face and .glyphicon rules of Bootstrap 3 (what bootstrap-glyphicons.css held)."""
    css = (node_modules / "bootstrap3/dist/css/bootstrap.css").read_text(encoding="utf-8")
    keep = [
        b
        for b in _css_blocks(css)
        if not b.startswith("@media")
        and ("Glyphicons Halflings" in b or b.split("{", 1)[0].lstrip().startswith(".glyphicon"))
    ]
    return "/* Glyphicons Halflings, from bootstrap 3.4.1 (MIT) */\n" + "\n".join(keep) + "\n"


def _awesome_rotate(_: Path) -> str:
    """folium's leaflet.awesome.rotate css: a class per whole degree for Icon(angle=...)."""
    rules = (
        f".fa-rotate-{d}{{-ms-transform:rotate({d}deg);-webkit-transform:rotate({d}deg);"
        f"transform:rotate({d}deg);}}"
        for d in range(1, 360)
    )
    return "\n".join(rules) + "\n"


GENERATORS = {"glyphicons": _glyphicons, "awesome_rotate": _awesome_rotate}


def _npm_ci(workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not installed: it is needed once to vendor the map assets")
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, workdir / name)
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=workdir,
        check=True,
    )
    return workdir / "node_modules"


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest)


def vendor(force: bool = False) -> bool:
    """Fill static/vendor; returns True when it did work, False when it was already current."""
    fingerprint = _fingerprint()
    if (
        not force
        and STAMP.exists()
        and STAMP.read_text().strip() == fingerprint
        and not missing_files()
    ):
        return False
    import folium

    folium_dir = Path(folium.__file__).parent
    with tempfile.TemporaryDirectory(prefix="bosai-vendor-") as tmp:
        node_modules = _npm_ci(Path(tmp))
        staging = Path(tmp) / "vendor"
        for item in VENDOR_FILES:
            target = staging / item.dest
            if item.origin == "npm":
                _copy(node_modules / item.source, target)
            elif item.origin == "folium":
                _copy(folium_dir / item.source, target)
            elif item.origin == "generated":
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(GENERATORS[item.source](node_modules), encoding="utf-8")
            else:
                raise ValueError(f"unknown origin {item.origin!r} for {item.dest}")
        (staging / ".stamp").write_text(fingerprint + "\n")
        if VENDOR_DIR.exists():
            shutil.rmtree(VENDOR_DIR)
        VENDOR_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), VENDOR_DIR)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="vendor again even when current")
    parser.add_argument("--check", action="store_true", help="only report missing files")
    args = parser.parse_args(argv)
    if args.check:
        missing = missing_files()
        for path in missing:
            print(f"missing: static/vendor/{path}")
        return 1 if missing else 0
    did = vendor(force=args.force)
    size = sum(p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file())
    state = "vendored" if did else "already current"
    print(f"static/vendor {state}: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
