"""``t2v bench``: list, run and report benchmarks, and generate GenAI-Bench images.

The core's ``t2v`` command hands ``t2v bench ARGS`` to :func:`main` (``main(["run", "winoground", ...])``).
Exit codes: 0 success, 2 usage error, 1 failure (with a one-line reason, never a traceback for user errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EPILOG = """examples:
  t2v bench list
  t2v bench run genai-bench-image --model clip-flant5-xxl --root data --out outputs --gen-model sd15
  t2v bench run winoground --model openai:ViT-L-14 --root data
  t2v bench report t2v-bench-results
"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit; let main() return 2 instead
        raise _UsageError(f"{self.prog}: error: {message}\n{self.format_usage()}")


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _kv(items: list[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _UsageError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = _parse_value(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``t2v bench`` argument parser."""
    p = _Parser(prog="t2v bench", description="Benchmarks for text-to-visual alignment scores.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ls = sub.add_parser("list", help="list the installed benchmarks")
    ls.add_argument("--json", action="store_true", help="print JSON")

    run = sub.add_parser("run", help="score a benchmark with a model and report its metrics")
    run.add_argument("benchmark", help="benchmark name (`t2v bench list`)")
    run.add_argument("--model", required=True, help="scoring model (`t2v models`)")
    run.add_argument("--root", default=None, help="folder holding the benchmark files (default: .)")
    run.add_argument("--out", default=None,
                     help="GenAI-Bench: folder of your generations, <out>/<gen_model>/<prompt id>.jpeg")
    run.add_argument("--gen-model", action="append", default=None, dest="gen_models",
                     help="GenAI-Bench: generator folder(s) under --out to score (repeatable; default: all)")
    run.add_argument("--prompts", type=int, default=None, help="GenAI-Bench prompt set: 1600 or 527 (video: 800/527)")
    run.add_argument("--results", default="t2v-bench-results", help="folder for results (default: %(default)s)")
    run.add_argument("--store", default=None,
                     help="SQLite score store for resuming (default: <results>/scores.sqlite; 'none' disables)")
    run.add_argument("--option", action="append", metavar="KEY=VALUE", help="benchmark option (repeatable)")
    run.add_argument("--model-option", action="append", metavar="KEY=VALUE",
                     help="option for building the scorer, e.g. checkpoint=... (repeatable)")
    run.add_argument("--call-option", action="append", metavar="KEY=VALUE",
                     help="per-call scorer option, e.g. num_frames=8 (repeatable)")
    run.add_argument("--question", default=None, help="VQAScore question template")
    run.add_argument("--answer", default=None, help="VQAScore answer template")
    run.add_argument("--device", default=None)
    run.add_argument("--dtype", default=None)
    run.add_argument("--batch-size", type=int, default=None)
    run.add_argument("--download", action="store_true", help="fetch missing annotation files from the HF hub")
    run.add_argument("--no-report", action="store_true", help="do not rewrite the HTML report afterwards")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    rep = sub.add_parser("report", help="print and write the report of a results folder")
    rep.add_argument("results", help="results folder (or one result .json)")
    rep.add_argument("--out", default=None, help="where to write summary.csv/json and report.html")
    rep.add_argument("--no-html", action="store_true")

    gen = sub.add_parser("generate", help="generate GenAI-Bench images with diffusers (needs t2v-bench[generate])")
    gen.add_argument("--gen-model", required=True, help="diffusers model id or folder")
    gen.add_argument("--out", default="outputs", help="output folder (default: %(default)s)")
    gen.add_argument("--root", default=None, help="folder holding GenAI-Bench's genai_image.json")
    gen.add_argument("--prompts", type=int, default=1600, choices=(1600, 527))
    gen.add_argument("--steps", type=int, default=50)
    gen.add_argument("--guidance", type=float, default=9.0)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--negative-prompt", default=None)
    gen.add_argument("--device", default=None)
    gen.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    return p


def _cmd_list(args: argparse.Namespace) -> int:
    from t2v_core import registry  # not the runner: listing stays free of numpy and model code

    specs = sorted(registry.benchmarks().specs.values(), key=lambda s: s.name)
    if args.json:
        print(json.dumps([{"name": s.name, "aliases": list(s.aliases), "media": list(s.media), "plugin": s.plugin,
                           "description": s.description} for s in specs], indent=1))
        return 0
    width = max((len(s.name) for s in specs), default=4)
    for s in specs:
        alias = f" (aliases: {', '.join(s.aliases)})" if s.aliases else ""
        print(f"{s.name.ljust(width)}  {s.description}{alias}  [{s.plugin}]")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .report import format_record, write_report
    from .runner import run_benchmark

    options = _kv(args.option, "--option")
    if args.out is not None:
        options["out"] = args.out
    if args.gen_models:
        options["gen_models"] = args.gen_models
    if args.prompts is not None:
        options["prompts"] = args.prompts
    store: Any = "auto" if args.store is None else (None if args.store.lower() == "none" else args.store)
    record = run_benchmark(args.benchmark, args.model, root=args.root, options=options, results_dir=args.results,
                           store=store, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
                           question_template=args.question, answer_template=args.answer,
                           scorer_options=_kv(args.model_option, "--model-option"),
                           call_options=_kv(args.call_option, "--call-option"), download=args.download,
                           progress=args.progress)
    print(format_record(record))
    if not args.no_report:
        written = write_report(args.results)
        print(f"\nresults in {Path(args.results)}/ ; report: {written.get('html')}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import format_record, load_results, write_report

    for record in load_results(args.results):
        print(format_record(record))
        print()
    written = write_report(args.results, args.out, html_file=not args.no_html)
    print("wrote " + ", ".join(str(p) for p in written.values()))
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .datasets import GenAIBenchImage
    from .generate import generate_images, load_pipeline

    bench = GenAIBenchImage(root=args.root, prompts=args.prompts)
    prompts = {k: str(v["prompt"]) for k, v in bench.prompts.items()}
    if args.limit is not None:
        prompts = dict(list(prompts.items())[:args.limit])
    pipe = load_pipeline(args.gen_model, device=args.device)
    folder = Path(args.out) / args.gen_model
    written = generate_images(pipe, prompts, folder, steps=args.steps, guidance=args.guidance, seed=args.seed,
                              negative_prompt=args.negative_prompt)
    print(f"wrote {len(written)} image(s) to {folder} ({len(prompts) - len(written)} already there). Score them with:\n"
          f"  t2v bench run genai-bench-image --model clip-flant5-xxl --prompts {args.prompts} "
          f"--out {args.out} --gen-model {args.gen_model}" + (f" --root {args.root}" if args.root else ""))
    return 0


COMMANDS = {"list": _cmd_list, "run": _cmd_run, "report": _cmd_report, "generate": _cmd_generate}


def main(argv: list[str] | None = None) -> int:
    """Run ``t2v bench`` with ``argv`` (without the ``t2v bench`` prefix); returns the exit code."""
    from t2v_core.errors import T2VError

    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        if not args.command:
            parser.print_help()
            return 2
        return COMMANDS[args.command](args)
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except _UsageError as e:
        print(str(e).rstrip(), file=sys.stderr)
        return 2
    except (T2VError, FileNotFoundError, ModuleNotFoundError, ValueError, TypeError) as e:
        if os.environ.get("T2V_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: scores computed so far are in the store; rerun the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
