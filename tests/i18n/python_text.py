"""Finds user-visible string literals in the project's Python that are not marked for translation.

Reads each module's syntax tree (no import) and looks where text reaches people:
- the message of an error people see: any class whose name ends in Error, Refused, Invalid, Gone,
  Missing, Conflict, Reused, TooLarge, NotAReviewer or FaceFound (the DomainError family and the
  API's errors), ValidationError, PermissionDenied;
- flash messages: messages.success/info/warning/error(request, text), and any `message = ...`;
- form and model words: a form field without label= (its name would show), label=, help_text=, verbose_name=, verbose_name_plural=, empty_label=,
  message=, the values of error_messages={...}, and the labels of TextChoices members;
- e-mails: subject= and body=/message= of send_mail and EmailMessage.
A literal counts when it holds a word of two letters or more. An f-string there always counts: it
cannot be translated (use gettext with %(name)s placeholders). Management commands speak to
operators at a terminal and are left out, as are migrations, the deployment checks of
`manage.py check` and the API's help texts (its OpenAPI reference, in English like docs/api.md).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ERROR_NAME = re.compile(r"(Error|Refused|Invalid|Gone|Missing|Conflict|Reused|TooLarge|NotAReviewer|FaceFound|Failed|Image|"
                        r"ValidationError|PermissionDenied)$")
NOT_SHOWN = {"RuntimeError", "ValueError", "TypeError", "KeyError", "AttributeError", "AssertionError",
             "NotImplementedError", "LookupError", "OSError", "ImportError", "TenantScopeMissing",
             "ImproperlyConfigured", "CommandError", "SealBroken", "ImageError",
             # An installation fault the operator fixes (the page says only that the service failed).
             "GatesMissing", "EngineWeightsMissing",
             # The backup and restore commands' failures, read by operators at a terminal.
             "BackupFailed", "RestoreIncomplete"}
TEXT_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label", "message", "subject", "body",
                 "title"}
TEXT_ATTRIBUTES = {"label", "help_text", "default_detail", "not_authenticated_message", "message"}
FLASH = {"success", "info", "warning", "error", "debug"}
MARKERS = {"_", "_lazy", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
           "npgettext", "npgettext_lazy", "format_lazy"}
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class UnmarkedString:
    module: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.text!r}"


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _readable(node: ast.AST | None) -> str | None:
    """The node's text when it is an unmarked literal people read, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _WORD.search(node.value):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
        if _WORD.search(text):
            return "f" + repr(text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _readable(node.left) or _readable(node.right)
    if isinstance(node, ast.Call) and _name(node.func) == "format" and isinstance(node.func, ast.Attribute):
        return _readable(node.func.value)
    if isinstance(node, (ast.List, ast.Tuple)):  # ValidationError(["..."]), {"field": ["..."]}
        return next((text for text in map(_readable, node.elts) if text), None)
    if isinstance(node, ast.Dict):
        return next((text for text in map(_readable, node.values) if text), None)
    return None


def module_unmarked_strings(path: Path, *, name: str | None = None) -> list[UnmarkedString]:
    source = path.read_text(encoding="utf-8")
    if "from django.db import migrations" in source:  # a migration operation: the schema's state, not text
        return []
    tree = ast.parse(source, filename=str(path))
    name = name or str(path)
    found: list[UnmarkedString] = []
    # The API's serializers' help texts make the OpenAPI document: reference documentation for
    # integrators' developers, in English like docs/api.md. Their error messages are translated.
    api_documentation = "/api/" in path.as_posix()

    def flag(node: ast.AST | None) -> None:
        text = _readable(node)
        if text is not None:
            found.append(UnmarkedString(name, node.lineno, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            if called in MARKERS:
                continue
            if ERROR_NAME.search(called) and called not in NOT_SHOWN and node.args:
                flag(node.args[0])
            if called == "add_error" and len(node.args) >= 2:
                flag(node.args[1])
            if called in FLASH and isinstance(node.func, ast.Attribute) and _name(node.func.value) == "messages" \
                    and len(node.args) >= 2:
                flag(node.args[1])
            if called in {"Actor", "cls"} and any(k.arg == "label" for k in node.keywords):  # an audit event's actor label: a record, kept as written
                continue
            if called in {"send_mail", "EmailMessage", "EmailMultiAlternatives"}:
                for argument in node.args[:2]:
                    flag(argument)
            for keyword in node.keywords:
                if keyword.arg == "help_text" and api_documentation:
                    continue
                if keyword.arg in TEXT_KEYWORDS:
                    flag(keyword.value)
                elif keyword.arg == "error_messages" and isinstance(keyword.value, ast.Dict):
                    for value in keyword.value.values:
                        flag(value)
        elif isinstance(node, ast.ClassDef) and any(_name(base).endswith("Form") for base in node.bases):
            for statement in node.body:  # a form field without a label shows its name, untranslated
                call = statement.value if isinstance(statement, ast.Assign) else None
                if isinstance(call, ast.Call) and _name(call.func).endswith("Field") \
                        and not any(k.arg == "label" for k in call.keywords) and "HiddenInput" not in ast.unparse(call):
                    found.append(UnmarkedString(name, call.lineno, f"{_name(statement.targets[0])}: a form field needs label="))
        if isinstance(node, ast.ClassDef) and any(_name(base).endswith("Choices") for base in node.bases):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple) \
                        and len(statement.value.elts) >= 2:
                    flag(statement.value.elts[-1])
        elif isinstance(node, ast.Assign) and any(_name(target) in TEXT_ATTRIBUTES for target in node.targets):
            flag(node.value)
        elif isinstance(node, ast.Assign) and any(_name(target) == "default_error_messages" for target in node.targets) \
                and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                flag(value)
    return sorted(found, key=lambda item: item.line)


def project_modules(root: Path) -> list[Path]:
    modules = []
    for package in ("portal", "tenants"):
        for path in sorted((root / package).rglob("*.py")):
            parts = set(path.relative_to(root).parts)
            # Migrations; operators' terminal commands; deployment checks (manage.py check); app labels.
            if "migrations" in parts or "management" in parts or path.name in {"checks.py", "apps.py"}:
                continue
            modules.append(path)
    return modules
