"""Plugins: Python files and installed packages that register variants, net families,
losses, penalties and datasets (docs/plugins.md).

Three ways in, loaded in this order, each source once:
- the entry-point group `ganbench.plugins` of installed packages;
- $GANBENCH_PLUGINS, file paths separated by os.pathsep;
- `ganbench --plugin FILE` (repeatable).

A leaf: it imports no registry. The registries ask `current_origin()` who is registering
("built-in" while ganbench imports itself) and note it with `note_origin`, so `ganbench
list` and config.json can say where each item came from. `loaded()` is what config.json
records; `loaded_sources()` is what a job process or a resume is handed to load the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

ENV = "GANBENCH_PLUGINS"
ENTRY_POINT_GROUP = "ganbench.plugins"
ENTRY_POINT_PREFIX = "entry-point:"
BUILTIN = "built-in"


class RegistryError(UsageError, ValueError):
    """A registration refused: a duplicate name or an unknown field value (exit 2).
    A ValueError too, as registries raised before plugins existed."""


class PluginError(UsageError):
    """A plugin that failed to load (exit 2): one line with its path and the cause."""


@dataclass(frozen=True)
class Plugin:
    source: str  # the resolved file path, or "entry-point:NAME"
    file: str | None  # the file that was run (an entry point's module file), if any
    sha256: str | None

    def record(self) -> dict:
        return {"source": self.source, "file": self.file, "sha256": self.sha256}


_LOADED: dict[str, Plugin] = {}
_LOADING: list[str] = []  # the plugin being imported, innermost last
# (kind, name) -> origin: "built-in", a plugin's path, or "entry-point:NAME"
_ORIGINS: dict[tuple[str, str], str] = {}


def current_origin() -> str:
    return _LOADING[-1] if _LOADING else BUILTIN


def note_origin(kind: str, name: str) -> None:
    _ORIGINS[(kind, name)] = current_origin()


def origin_of(kind: str, name: str) -> str:
    return _ORIGINS.get((kind, name), BUILTIN)


def refuse(message: str) -> RegistryError:
    """The error for a refused registration, naming the plugin that asked for it."""
    who = current_origin()
    return RegistryError(message if who == BUILTIN else f"plugin {who}: {message}")


def loaded() -> list[dict]:
    """The plugins loaded in this process, in load order (what config.json records)."""
    return [p.record() for p in _LOADED.values()]


def loaded_sources() -> tuple[str, ...]:
    return tuple(_LOADED)


def sha256_of(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def discover(cli_paths: Iterable[str | os.PathLike] = (), environ=None) -> list[str]:
    """Every plugin source to load, in order: entry points, $GANBENCH_PLUGINS, --plugin."""
    from importlib.metadata import entry_points

    environ = os.environ if environ is None else environ
    sources = [ENTRY_POINT_PREFIX + ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]
    sources += [p for p in environ.get(ENV, "").split(os.pathsep) if p.strip()]
    sources += [str(p) for p in cli_paths]
    return sources


def _key(source: str) -> str:
    if source.startswith(ENTRY_POINT_PREFIX):
        return source
    return str(Path(source).expanduser().resolve())


@contextlib.contextmanager
def _loading(source: str) -> Iterator[None]:
    _LOADING.append(source)
    try:
        yield
    finally:
        _LOADING.pop()


def _module_name(path: Path) -> str:
    """A stable module name per file, so objects defined in it pickle by reference."""
    stem = re.sub(r"\W", "_", path.stem)
    return f"ganbench_plugin_{stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


class NotAPythonFile(ImportError):
    """`import_file` was given a file that importlib cannot load as a module."""


def import_file(path: Path, module_name: str):
    """Import the Python file `path` as the module `module_name` and return it. Raises
    NotAPythonFile if it is no importable Python file; whatever its own code raises propagates,
    and the half-made module is not left in sys.modules. (Plugins and `ganbench score
    --generator file.py:factory` both load files this way.)"""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise NotAPythonFile(f"{path} is not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _load_file(path: Path) -> Plugin:
    if not path.is_file():
        raise PluginError(f"plugin {path}: no such file")
    digest = sha256_of(path)
    try:
        import_file(path, _module_name(path))
    except NotAPythonFile:
        raise PluginError(f"plugin {path}: not a Python file ganbench can import") from None
    return Plugin(str(path), str(path), digest)


def _load_entry_point(source: str) -> Plugin:
    from importlib.metadata import entry_points

    name = source[len(ENTRY_POINT_PREFIX) :]
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise PluginError(f"plugin {source}: no installed package provides this entry point")
    obj = found[0].load()
    if callable(obj) and not isinstance(obj, type):
        obj()  # an entry point may name a function that registers, instead of a module
    module = sys.modules.get(found[0].module)
    file = getattr(module, "__file__", None)
    return Plugin(source, file, sha256_of(file) if file else None)


def load(source: str) -> Plugin:
    """Import one plugin (once per process: a second call returns the first's record).

    Any failure is one PluginError line: the plugin's path and the exception's message,
    chained to the original (what --debug shows)."""
    key = _key(source)
    if key in _LOADED:
        return _LOADED[key]
    with _loading(key):
        try:
            plugin = _load_entry_point(key) if key.startswith(ENTRY_POINT_PREFIX) else _load_file(Path(key))
        except PluginError:
            raise
        except RegistryError as exc:  # its message already names the plugin
            raise PluginError(str(exc)) from exc
        except SyntaxError as exc:
            where = f" (line {exc.lineno})" if exc.lineno else ""
            raise PluginError(f"plugin {key} failed to import: SyntaxError: {exc.msg}{where}") from exc
        except Exception as exc:
            raise PluginError(f"plugin {key} failed to import: {type(exc).__name__}: {exc}") from exc
    _LOADED[key] = plugin
    return plugin


def load_all(sources: Iterable[str]) -> list[Plugin]:
    return [load(s) for s in sources]


@contextlib.contextmanager
def state_restored() -> Iterator[None]:
    """Within this block plugins may load; on leaving it, this module forgets them (tests).
    The registries themselves are restored by `ganbench.testing.registries_restored`."""
    loaded_before, origins_before = dict(_LOADED), dict(_ORIGINS)
    try:
        yield
    finally:
        _LOADED.clear()
        _LOADED.update(loaded_before)
        _ORIGINS.clear()
        _ORIGINS.update(origins_before)
        for name in [m for m in sys.modules if m.startswith("ganbench_plugin_")]:
            if not any(_module_name(Path(p.source)) == name for p in loaded_before.values()):
                del sys.modules[name]
