"""The plugin contract of t2v: the hook specifications a plugin may implement.

A plugin is a module exposed through the entry-point group ``t2v``::

    [project.entry-points.t2v]
    myfamily = "t2v_myfamily.plugin"

and implements one or more hooks with ``@t2v_core.hookimpl``. Every hook hands the plugin a ``register``
callback owned by the core, so the core decides about name clashes, aliases and provenance.

Plugin modules are imported when plugins are discovered (for example by ``t2v models``): they must not
import torch, transformers or any model code at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

PROJECT = "t2v"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register the scorers (models) this plugin provides.

    Args:
        register: call it once per model with a :class:`t2v_core.ScorerSpec`. The spec is light: a name,
            its kind (``"vqa"``, ``"clip"`` or ``"itm"``), the media it accepts, default templates, where its
            weights live, and a ``"module:Class"`` string naming the scorer class, which is imported only
            when a user builds the scorer.

    Example::

        from t2v_core import ScorerSpec, hookimpl

        @hookimpl
        def register_scorers(register):
            register(ScorerSpec(name="my-vlm-7b", kind="vqa", scorer="t2v_my.scorer:MyScorer",
                                weights=("org/my-vlm-7b",), media=("image", "video")))
    """


@hookspec
def register_benchmarks(register: Callable[[Any], None]) -> None:
    """Register benchmarks (data loaders plus their metrics) that ``t2v bench`` can run.

    Args:
        register: call it once per benchmark with a :class:`t2v_core.BenchmarkSpec`, whose ``loader`` is a
            ``"module:callable"`` string imported only when the benchmark runs.

    Example::

        @hookimpl
        def register_benchmarks(register):
            register(BenchmarkSpec(name="my-bench", loader="t2v_my.bench:load", description="..."))
    """


@hookspec
def register_commands(register: Callable[[Any], None]) -> None:
    """Register ``t2v`` subcommands (as ``t2v bench``), as simonw/llm's ``register_commands`` does.

    Args:
        register: call it once per subcommand with a :class:`t2v_core.CommandSpec`, whose ``main`` is a
            ``"module:callable"`` string imported only when the subcommand runs. The callable takes the
            arguments after the subcommand's name (a list of strings) and returns the exit code.

    Example::

        @hookimpl
        def register_commands(register):
            register(CommandSpec(name="my-tool", main="t2v_my.cli:main", help="what my-tool does"))
    """
