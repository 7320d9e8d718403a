"""List the modules of evalkit/ that no test imports (issue 17, "tests mirror the package").

    python scripts/untested_modules.py [--all]

A module counts as imported by a test when a file under tests/ names its dotted path in an import
(`import evalkit.x`, `from evalkit.x import ...`, `from evalkit import x`, or, for a package's
module, `from evalkit.pkg import x`). Modules reached only through other modules do not count:
the list is of modules without a direct test. Prints one module per line and the count.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(package: Path) -> list[str]:
    """Dotted names of the package's modules (a package counts by its __init__.py)."""
    out = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def imported(tests: Path) -> set[str]:
    """Dotted module names the test files import directly."""
    found: set[str] = set()
    plain = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
    from_ = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
    dynamic = re.compile(r"""import_module\(\s*["']([\w.]+)["']""")
    for path in tests.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in plain.finditer(text):
            found.update(n.strip().split(" as ")[0].strip() for n in match.group(1).split(","))
        for match in from_.finditer(text):
            base = match.group(1)
            found.add(base)
            names = match.group(2).strip("()").split("#")[0]
            for name in names.replace("\n", " ").split(","):
                name = name.strip().split(" as ")[0].strip()
                if name:
                    found.add(f"{base}.{name}")
        found.update(dynamic.findall(text))
    return found


def main(argv: list[str]) -> int:
    all_modules = modules(ROOT / "evalkit")
    seen = imported(ROOT / "tests")
    untested = [m for m in all_modules if m not in seen]
    for name in untested:
        print(name)
    print(f"{len(untested)} of {len(all_modules)} modules imported by no test", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
