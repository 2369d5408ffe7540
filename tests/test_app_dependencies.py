"""The apps' dependency direction (DESIGN.md, Shape: "connectors imports customers and
billing; never the reverse"; issue 20: "customers imports nothing from billing", "billing
names no platform" in its line rules)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(package: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_customers_imports_nothing_from_billing_or_connectors():
    offending = {
        path: sorted(n for n in names if n.split(".")[0] in ("billing", "connectors"))
        for path, names in _imported_modules("customers").items()
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_billing_imports_no_connector():
    offending = {
        path: sorted(n for n in names if n.split(".")[0] == "connectors")
        for path, names in _imported_modules("billing").items()
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_billings_line_rules_name_no_platform():
    text = (ROOT / "billing" / "platform_rules.py").read_text()
    assert re.findall(r"\b(?:affinity|abillity|connect)\b", text, flags=re.IGNORECASE) == []
