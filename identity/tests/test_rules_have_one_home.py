"""The house rules that a reviewer would otherwise have to remember, checked over the source.

- Permission rules live in ``identity.roles``: no app module outside ``identity/`` (and the project package ``portal/``) compares
  personas or a role's hubs itself (it asks ``roles.may_*`` / ``roles.sees_hub``), and no
  template does (it reads the ``may`` context value).
- Work is queued through each app's ``dispatch`` module: nothing but ``dispatch.py`` and
  the tasks themselves imports a ``tasks`` module, so services never import their tasks
  (the tasks import the services: no circle).

Each scan also runs on a small sample of the code it must reject, so a scan that silently
matched nothing would fail here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from identity.roles import PERSONAS

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
OTHER_APPS = [app for app in APPS if app not in ("portal", "identity")]
# Role attributes that carry a permission decision when compared outside the role layer.
ROLE_SCOPE_ATTRS = {"hub", "read_scopes", "use_cases"}


def _modules(apps: list[str]) -> list[Path]:
    return sorted(
        path for app in apps for path in (ROOT / app).rglob("*.py")
        if not {"tests", "migrations", "testing"} & set(path.relative_to(ROOT).parts)
    )


def _names_a_role(node: ast.AST) -> bool:
    """``role``, ``self.role``, ``request_role``…: an expression naming a role."""
    if isinstance(node, ast.Name):
        return "role" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "role" in node.attr.lower() or _names_a_role(node.value)
    return False


def role_rule_breaks(source: str) -> list[str]:
    """Places in ``source`` that decide a permission themselves, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "persona":
            found.append(f"{node.lineno}: reads .persona")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "hasattr"}
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "persona"):
            found.append(f"{node.lineno}: getattr(…, 'persona')")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                if any(isinstance(v, ast.Constant) and v.value in PERSONAS for v in values):
                    found.append(f"{node.lineno}: compares with a persona name")
                if (isinstance(operand, ast.Attribute) and operand.attr in ROLE_SCOPE_ATTRS
                        and _names_a_role(operand.value)):
                    found.append(f"{node.lineno}: compares a role's {operand.attr}")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if "persona" in name.lower():
                    found.append(f"{node.lineno}: defines {name}")
    return found


TEMPLATE_BREAK = re.compile(r"\.persona\s*(==|!=|\bin\b|\bnot\b)|\bpersona\s*(==|!=)|\.hub\s*(==|!=)")


def test_the_scan_rejects_each_way_of_re_deriving_a_rule() -> None:
    sample = '''
if role is None or not (role.is_admin or role.persona == "steward"): pass
allowed_personas = ("provider",)
ok = getattr(role, "persona", None) != "provider"
visible = table.hub == role.hub or hub in role.read_scopes
LAUNCH_PERSONAS = ("consumer", "admin")
kind = "provider" if x else "y"
'''
    breaks = role_rule_breaks(sample)
    lines = {int(b.split(":")[0]) for b in breaks}
    assert lines == {2, 3, 4, 5, 6}, breaks
    assert TEMPLATE_BREAK.search('{% if current_role.persona == "steward" %}')
    assert not TEMPLATE_BREAK.search("{% if may.operate %}")


def test_no_app_outside_portal_compares_personas_or_hubs_itself() -> None:
    modules = _modules(OTHER_APPS)
    assert len(modules) > 40  # the scan reads the apps' code, not an empty tree
    breaks = [f"{path.relative_to(ROOT)}:{b}" for path in modules for b in role_rule_breaks(path.read_text())]
    assert breaks == [], "ask identity.roles (may_*, sees_hub, provided_hub) instead:\n" + "\n".join(breaks)


def test_no_template_compares_personas_or_hubs_itself() -> None:
    templates = sorted({*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")})
    assert len(templates) > 20
    breaks = [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
              for path in templates for n, line in enumerate(path.read_text().splitlines(), 1)
              if TEMPLATE_BREAK.search(line)]
    assert breaks == [], "use the `may` context value (identity.roles.Abilities) instead:\n" + "\n".join(breaks)


def tasks_imports(source: str) -> list[str]:
    """Imports of a ``tasks`` module (``x.tasks``, ``from x import tasks``), anywhere in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[-1] == "tasks"]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[-1] == "tasks":
                found.append(f"{node.lineno}: from {node.module} import …")
            found += [f"{node.lineno}: from {node.module} import tasks" for a in node.names if a.name == "tasks"]
    return found


def test_the_import_scan_finds_task_imports_at_any_depth() -> None:
    sample = "def f():\n    from catalog.tasks import sync_catalog_task\n    from workspaces import tasks\nimport lineage.tasks\n"
    assert sorted(int(b.split(":")[0]) for b in tasks_imports(sample)) == [2, 3, 4]


def test_only_dispatch_modules_import_tasks_so_services_never_do() -> None:
    modules = [p for p in _modules(APPS) if p.name not in {"tasks.py", "dispatch.py", "celery.py"}]
    services = [p for p in modules if p.name == "services.py" or p.parent.name == "services"]
    assert len(services) >= 5  # catalog's services package, ingestion, workspaces, lineage, portal
    breaks = [f"{path.relative_to(ROOT)}:{b}" for path in modules for b in tasks_imports(path.read_text())]
    assert breaks == [], "enqueue through the app's dispatch module instead:\n" + "\n".join(breaks)


def test_each_app_with_tasks_has_a_dispatch_module() -> None:
    for app in APPS:
        if (ROOT / app / "tasks.py").exists():
            assert (ROOT / app / "dispatch.py").exists(), f"{app} has tasks but no dispatch module"
