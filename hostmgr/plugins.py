"""The plugin manager: default plugins, entry points and awaiting hook results.

Third-party plugins are distributions that declare an entry point in the
``hostmgr`` group. The core's own defaults are registered the same way in code, so
a plugin can override or extend any of them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Iterable
from typing import Any

import pluggy

from hostmgr import hookspecs

ENTRY_POINT_GROUP = "hostmgr"
DEFAULT_PLUGINS = ("hostmgr.default_auth",)


def create_plugin_manager(
    *, load_entry_points: bool = True, extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("hostmgr")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    return pm


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable, else return it."""
    if inspect.isawaitable(value):
        return await value
    return value


async def call_hook(
    pm: pluggy.PluginManager, hook_name: str, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call every implementation in pluggy's order and await each result.

    Returns ``(plugin name, result or exception)`` pairs, so one failing plugin
    neither hides the others' results nor leaves their coroutines un-awaited.
    """
    caller = getattr(pm.hook, hook_name)
    outcomes: list[tuple[str, Any]] = []
    for impl in reversed(caller.get_hookimpls()):
        args = {name: kwargs[name] for name in impl.argnames}
        try:
            outcomes.append(
                (impl.plugin_name, await await_me_maybe(impl.function(**args)))
            )
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            outcomes.append((impl.plugin_name, exc))
    return outcomes


async def first_result(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """The first non-None awaited result, in pluggy's call order.

    Unlike ``firstresult=True``, this awaits each implementation before judging it,
    so an async implementation does not win just by returning a coroutine. An
    exception from an implementation propagates.
    """
    caller = getattr(pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        args = {name: kwargs[name] for name in impl.argnames}
        result = await await_me_maybe(impl.function(**args))
        if result is not None:
            return result
    return None


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, str]]:
    """Name, version and hooks of every registered plugin, sorted by name."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    core_version = importlib.metadata.version("hostmgr")
    rows = []
    for name, plugin in pm.list_name_plugin():
        dist = dists.get(id(plugin))
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        rows.append(
            {
                "name": name,
                "distribution": dist.project_name if dist else "hostmgr",
                "version": dist.version if dist else core_version,
                "hooks": ", ".join(hooks),
            }
        )
    return sorted(rows, key=lambda row: row["name"])
