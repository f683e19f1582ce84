"""Services talk through protos/, never by importing each other; plumbing imports no service."""

import ast
from pathlib import Path

from tests.support import ROOT

SERVICES = ("intake", "verification", "routing", "sla", "notify", "portal")
PLUMBING = "plumbing"


def imported_modules(path: Path, package: list[str]) -> list[str]:
    """The modules a file imports, relative imports resolved against its `package`."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names.append(".".join(base + ([node.module] if node.module else [])))
    return names


def boundary_violations(root: Path) -> list[str]:
    """Every import that crosses a service boundary, as 'file imports module'."""
    violations = []
    for owner in (*SERVICES, PLUMBING):
        for path in sorted((root / "services" / owner).rglob("*.py")):
            relative = path.relative_to(root)
            for module in imported_modules(path, list(relative.parts[:-1])):
                parts = module.split(".")
                if len(parts) >= 2 and parts[0] == "services" and parts[1] in SERVICES and parts[1] != owner:
                    violations.append(f"{relative} imports {module}")
    return violations


def test_no_service_imports_another_and_plumbing_imports_none():
    assert boundary_violations(ROOT) == []


def test_the_check_catches_a_wrong_import(tmp_path):
    for owner in (*SERVICES, PLUMBING):
        (tmp_path / "services" / owner).mkdir(parents=True)
    (tmp_path / "services" / "portal" / "web.py").write_text("from services.intake import service\n")
    (tmp_path / "services" / "plumbing" / "db.py").write_text("import services.sla.engine\n")
    (tmp_path / "services" / "sla" / "engine.py").write_text("from ..notify import templates\n")
    (tmp_path / "services" / "notify" / "ok.py").write_text("from services.plumbing import config\n"
                                                           "from . import templates\n")
    assert boundary_violations(tmp_path) == [
        "services/sla/engine.py imports services.notify",
        "services/portal/web.py imports services.intake",
        "services/plumbing/db.py imports services.sla.engine",
    ]
