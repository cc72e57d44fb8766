"""The map of docs/architecture.md, enforced: every import in the project (at the top of a module
or inside a function) goes from a layer to the same part or a lower layer, never up. And no
module outside migrations and benchmarks grows past about 400 lines."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module belongs to the longest prefix that names it.
LAYERS = [
    ["portal.errors", "portal.dates", "portal.public_limits", "portal.runtime", "portal.faces",
     "portal.sealing", "portal.signatures", "portal.formats"],  # the kernel: no Django app
    ["tenants"],  # tenants, users, memberships, the tenant scope and RLS
    ["portal.audit"],  # the audit chain every other app writes to
    ["tenants.services", "tenants.management"],  # tenant writes, which are audited
    ["portal.webhooks"],  # tenants' endpoints and signed deliveries of events
    ["portal.gallery"],  # pictures, faces, provenance; the gate registry
    ["portal.search"],  # the similarity query and searches
    ["portal.compliance"],  # orders, coverage, enforcement, certificates, opt-outs; registers the gates
    ["portal.rights"],  # data subjects' requests: verification, the clock, forwarding to tenants
    ["portal.platform"],  # the operator's console
    ["portal.api"],  # the REST API: tenants' and the platform's
    ["portal.web"],  # the customer portal's pages
    ["portal.core", "portal.celery", "portal.urls", "portal.settings", "portal.i18n_settings", "portal.wsgi"],  # wiring and commands
]
WIRING = len(LAYERS) - 1
PACKAGES = {"portal": WIRING}  # the package's __init__ (it loads the Celery app)
LINE_LIMIT = 420  # "about 400"
LINE_LIMIT_EXEMPT = ("migrations", "bench_")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer_of(module: str) -> tuple[int, str] | None:
    if module in PACKAGES:
        return PACKAGES[module], module
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    return best


def _project_modules() -> list[Path]:
    return sorted(p for folder in ("portal", "tenants") for p in (ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            # "from portal.compliance import orders" imports the module portal.compliance.orders.
            found += [(node.lineno, name if (ROOT / (name.replace(".", "/") + ".py")).exists() else node.module)
                      for name in names]
    return [(line, name) for line, name in found if name.split(".")[0] in ("portal", "tenants")]


def test_every_project_module_has_a_layer():
    assert [_module_name(p) for p in _project_modules() if _layer_of(_module_name(p)) is None] == []


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in _project_modules():
        source = _layer_of(_module_name(path))
        for line, imported in _imports(path):
            target = _layer_of(imported)
            if target is not None and target[0] > source[0]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({source[1]}) imports {imported} ({target[1]})")
    assert upward == []


def test_the_audit_app_imports_no_other_portal_app():
    audit = [p for p in _project_modules() if _module_name(p).startswith("portal.audit")]
    assert audit
    others = [(p.name, name) for p in audit for _line, name in _imports(p)
              if name.startswith("portal.") and not name.startswith(("portal.audit", "portal.errors", "portal.signatures"))]
    assert others == []


@pytest.mark.parametrize("module, imported, allowed", [
    ("portal.gallery.services", "portal.compliance.gates", False),
    ("portal.search.selectors", "portal.compliance.gates", False),
    ("portal.audit.services", "portal.gallery.models", False),
    ("portal.compliance.orders", "portal.api.services", False),
    ("portal.compliance.orders", "portal.gallery.regions", True),
    ("tenants.services", "portal.audit.services", True),
    ("tenants.models", "portal.audit.services", False),
])
def test_the_rule_itself(module, imported, allowed):
    assert (_layer_of(imported)[0] <= _layer_of(module)[0]) is allowed


def test_no_module_is_longer_than_about_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _project_modules()
            if not any(part.startswith(LINE_LIMIT_EXEMPT) for part in p.relative_to(ROOT).parts)
            and (n := len(p.read_text().splitlines())) > LINE_LIMIT}
    assert long == {}
