"""What the Workers runtime would reject when it starts a Python Worker during an upload:
syntax errors and top-level imports of modules that do not exist there. A main module whose
handler would never be called (no ``class Default``, or a top-level ``on_fetch`` with a
compatibility date from 2025-08-14) is reported as a warning, not an error: Cloudflare
accepts such uploads and the Worker fails at request time. Static checks (the fake does not
run Pyodide)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator

from .envelope import ApiError
from .model import Module

# Provided by the Workers runtime itself (beside the standard library).
RUNTIME_MODULES = frozenset(
    {
        "workers",
        "js",
        "pyodide",
        "pyodide_js",
        "_pyodide",
        "_pyodide_entrypoint_helper",
        "_cloudflare_compat_flags",
    }
)
PYTHON_TYPE = "text/x-python"
ON_FETCH_REMOVED = "2025-08-14"  # top-level on_fetch stops working from this date
_IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _startup_error(message: str) -> ApiError:
    return ApiError(400, 10021, message)


def _bundle_roots(modules: list[Module]) -> set[str]:
    roots = set()
    for module in modules:
        name = module.name.removeprefix("python_modules/")
        first = name.split("/", 1)[0]
        roots.add(first.removesuffix(".py"))
    return roots


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _guards_import(handlers: list[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        if handler.type is None:
            return True
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(n, ast.Name) and n.id in _IMPORT_GUARDS for n in names):
            return True
    return False


def startup_imports(body: list[ast.stmt]) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) for imports executed when the module is imported: not in
    functions, not under ``if TYPE_CHECKING``, not in a ``try`` that handles ImportError."""
    for node in body:
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.module, node.lineno
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from startup_imports(node.body)
            yield from startup_imports(node.orelse)
        elif isinstance(node, ast.Try):
            if not _guards_import(node.handlers):
                yield from startup_imports(node.body)
            yield from startup_imports(node.orelse)
            yield from startup_imports(node.finalbody)
        elif isinstance(node, ast.ClassDef | ast.With):
            yield from startup_imports(node.body)


def handler_warning(tree: ast.Module, compatibility_date: str, main: str) -> str | None:
    """Why requests would never reach this main module's code, or None."""
    names = {
        n.name
        for n in tree.body
        if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if "Default" in names:
        return None
    if "on_fetch" in names:
        if compatibility_date >= ON_FETCH_REMOVED:
            return (
                f"{main}: a top-level on_fetch handler is not called with compatibility "
                f"dates from {ON_FETCH_REMOVED}; define class Default(WorkerEntrypoint)"
            )
        return None
    return f"{main} defines no class Default: no event handler is registered"


def check_python_startup(
    modules: list[Module], main_module: str, compatibility_date: str
) -> list[str]:
    """Reject Python modules that could not start on the Workers runtime; return warnings."""
    warnings: list[str] = []
    roots = _bundle_roots(modules)
    available = roots | RUNTIME_MODULES | set(sys.stdlib_module_names)
    for module in modules:
        if module.content_type != PYTHON_TYPE:
            continue
        try:
            tree = ast.parse(module.content.decode("utf-8"), filename=module.name)
        except UnicodeDecodeError:
            raise _startup_error(f"Uncaught SyntaxError: {module.name} is not UTF-8") from None
        except SyntaxError as exc:
            raise _startup_error(
                f"Uncaught SyntaxError: {exc.msg} ({module.name}, line {exc.lineno})"
            ) from None
        for name, line in startup_imports(tree.body):
            root = name.split(".", 1)[0]
            if root not in available:
                raise _startup_error(
                    f"Uncaught ModuleNotFoundError: No module named '{root}' "
                    f"({module.name}, line {line}): only the standard "
                    "library, the runtime's modules and uploaded modules "
                    "exist on Workers"
                )
        if module.name == main_module:
            warning = handler_warning(tree, compatibility_date, main_module)
            if warning:
                warnings.append(warning)
    return warnings
