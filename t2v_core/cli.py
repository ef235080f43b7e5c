"""The ``t2v`` command line: list models and plugins, score pairs, prefetch weights, run benchmarks.

Exit codes: 0 ok, 2 usage error, 1 a failure (with a message, never a raw traceback for user errors).
Listing commands never import torch.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import MediaError, T2VError


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="t2v", description="Score how well images and videos match text prompts.")
    p.add_argument("--version", action="version", version=f"t2v-core {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    m = sub.add_parser("models", help="list installed models, or show one model's options")
    m.add_argument("model", nargs="?", help="show this model's constructor and call options with their defaults")
    m.add_argument("--options", dest="options_of", metavar="MODEL", help="same as giving MODEL")
    m.add_argument("--kind", choices=("vqa", "clip", "itm"), help="only models of this kind")
    m.add_argument("--json", action="store_true", help="print JSON")

    pl = sub.add_parser("plugins", help="list installed plugins")
    pl.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("score", help="score media against texts")
    s.add_argument("--model", required=True, help="a model name or alias (`t2v models` lists them)")
    s.add_argument("--image", action="append", default=[], help="an image or video (repeat for several)")
    s.add_argument("--video", action="append", default=[], dest="image", metavar="VIDEO",
                   help="a video (same as --image; repeat for several)")
    s.add_argument("--text", action="append", default=[], help="a text (repeat for several); every image x text")
    s.add_argument("--pairs", help="a .csv or .jsonl file with columns 'image' (or 'video') and 'text'")
    s.add_argument("--out", help="write results to .csv, .jsonl or .parquet (default: print a table)")
    s.add_argument("--store", help="SQLite score store: resume a run, never compute a pair twice")
    s.add_argument("--question", help="question template, '{}' stands for the text")
    s.add_argument("--answer", help="answer template")
    s.add_argument("--device", help="cpu, cuda, cuda:1, mps, ... (default: the best available)")
    s.add_argument("--dtype", help="bf16, fp16 or fp32 (default: bf16 on GPU, fp32 elsewhere)")
    s.add_argument("--batch-size", type=int, help="pairs per model forward (default: the model's own)")
    s.add_argument("--num-frames", type=int, help="frames sampled per video (models that take it)")
    s.add_argument("--fps", help="video sampling rate (models that take it)")
    s.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra scorer option, e.g. --option checkpoint=/path (value parsed as JSON when it can be)")
    s.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is drawn only on a terminal; T2V_PROGRESS=0 also turns it off)")

    d = sub.add_parser("download", help="prefetch a model's weights into the Hugging Face cache")
    d.add_argument("model", help="a model name or alias")
    d.add_argument("--cache-dir", help="cache folder (default: HF_HUB_CACHE)")

    sv = sub.add_parser("serve", help="serve one model over HTTP for reward loops and services (t2v-core[serve])")
    sv.add_argument("--model", required=True, help="the model to serve (`t2v models` lists them)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--device", help="cuda, cuda:1, cpu, mps (default: the best available)")
    sv.add_argument("--dtype", help="bf16, fp16, fp32 (default: bf16 on GPU, fp32 on CPU)")
    sv.add_argument("--store", help="SQLite score store: scores survive restarts and are never computed twice "
                                    "(default: in memory)")
    sv.add_argument("--max-batch", type=int, default=64, help="most pairs per scorer call (default: 64)")
    sv.add_argument("--max-wait-ms", type=float, default=5.0,
                    help="how long a pair waits for others to batch with (default: 5)")
    sv.add_argument("--max-queue", type=int, default=4096,
                    help="most pairs waiting; beyond it requests get 429 (default: 4096)")
    sv.add_argument("--media-root", help="folder under which requests may name server-side paths (default: none)")
    sv.add_argument("--no-urls", action="store_true", help="refuse media given as URLs")
    sv.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="scorer option")

    ev = sub.add_parser("envs", help="worker environments of families whose pins clash with this one")
    ev.add_argument("action", nargs="?", choices=("list", "create", "remove"), default="list",
                    help="list (default), create an environment ahead of use, or remove one")
    ev.add_argument("target", nargs="?", help="create: a model name; remove: an environment key (or 'all')")
    ev.add_argument("--json", action="store_true", help="print JSON")

    from . import registry

    for spec in sorted(registry.commands().specs.values(), key=lambda c: c.name):
        if spec.name not in sub.choices:  # a plugin cannot shadow a core command
            sub.add_parser(spec.name, help=f"{spec.help} (plugin {spec.plugin})", add_help=False)
    return p


_CORE_COMMANDS = ("models", "plugins", "score", "download", "serve", "envs")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``t2v`` command."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # whoever read our output stopped early (`t2v models | head`): end quietly, as a Unix tool does,
        # and point stdout at /dev/null so that the flush at exit does not raise again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return 0


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in _CORE_COMMANDS and not argv[0].startswith("-"):
        from . import registry

        spec = registry.commands().get(argv[0])
        if spec is not None:  # a plugin's subcommand parses its own arguments
            return int(spec.load()(argv[1:]))
        if argv[0] == "bench":
            print("t2v bench needs the t2v-bench plugin: pip install t2v-bench", file=sys.stderr)
            return 1
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int({"models": _models, "plugins": _plugins, "score": _score, "download": _download,
                    "serve": _serve, "envs": _envs}[args.command](args))
    except UsageError as e:
        print(f"t2v {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (T2VError, ValueError, TypeError, FileNotFoundError, ModuleNotFoundError, KeyError) as e:
        print(f"t2v {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; scores already written to the store are kept", file=sys.stderr)
        return 130


def _models(args: argparse.Namespace) -> int:
    from . import registry

    if args.model or args.options_of:
        return _model_options(args.model or args.options_of, args.json)
    specs = [s for s in registry.scorers().specs.values() if args.kind is None or s.kind == args.kind]
    specs.sort(key=lambda s: (s.kind, s.name))
    if args.json:
        print(json.dumps([s.as_dict() for s in specs], indent=2))
        return 0
    if not specs:
        print(_no_models_message(args.kind, len(registry.scorers().specs)))
        return 0
    rows = [(s.name, s.kind, "+".join(s.media), s.plugin or "", (s.weights or ("",))[0]) for s in specs]
    _table(("model", "kind", "media", "plugin", "weights"), rows)
    notes = [(a, s.name, n) for s in specs for a, n in s.alias_notes.items()]
    if notes:
        print("\nnames that now point elsewhere:")
        for alias, name, note in notes:
            print(f"  {alias} -> {name}: {note}")
    from .plugins import unmatched_filter

    if unmatched_filter():
        print(f"note: T2V_PLUGINS names {', '.join(repr(u) for u in unmatched_filter())}, which matched no installed "
              "plugin", file=sys.stderr)
    return 0


def _no_models_message(kind: str | None, n_all: int) -> str:
    from .plugins import ENV_VAR, unmatched_filter

    lines = []
    if kind is not None and n_all:
        lines.append(f"no {kind!r} models among the {n_all} installed (`t2v models` lists them all)")
    else:
        lines.append("no models installed" + (f" of kind {kind!r}" if kind else "")
                     + ": pip install t2v-clipflant5 (or another t2v-<family> plugin)")
    unmatched = unmatched_filter()
    if unmatched:
        lines.append(f"{ENV_VAR}={os.environ.get(ENV_VAR, '')!r}: {', '.join(repr(u) for u in unmatched)} matched no "
                     "installed plugin (`t2v plugins` lists them; unset it to load all)")
    elif os.environ.get(ENV_VAR) is not None and not os.environ.get(ENV_VAR, "").strip():
        lines.append(f"{ENV_VAR} is set but empty, which loads no plugin: unset it to load all")
    return "\n".join(lines)


def model_options(name: str) -> dict[str, Any]:
    """A model's constructor and call options with their defaults (imports the model's scorer class)."""
    import inspect

    from . import registry

    spec = registry.get_spec(name)
    cls = spec.load_class()
    ctor: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # the core's keywords first, then what subclasses add
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty):
                ctor[p.name] = p.default
    ctor.update({**cls.accepted_options(spec), **spec.options})
    return {"model": spec.name, "kind": spec.kind, "plugin": spec.plugin, "scorer": spec.scorer,
            "constructor_options": ctor, "call_options": dict(cls.call_options)}


def _model_options(name: str, as_json: bool) -> int:
    info = model_options(name)
    if as_json:
        print(json.dumps(info, indent=2, default=repr))
        return 0
    print(f"{info['model']} ({info['kind']}, plugin {info['plugin']}, {info['scorer']})")
    rows = [(k, "constructor", json.dumps(v, default=repr)) for k, v in info["constructor_options"].items()]
    rows += [(k, "call", json.dumps(v, default=repr)) for k, v in info["call_options"].items()]
    _table(("option", "where", "default"), rows)
    print("constructor options: VQAScore(model=..., KEY=VALUE) or t2v score --option KEY=VALUE; call options: "
          "scorer(images, texts, KEY=VALUE)")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from .plugins import plugins_info

    info = plugins_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    _table(("plugin", "distribution", "version", "hooks"),
           [(i["name"], i["distribution"] or "", i["version"] or "", ",".join(i["hooks"])) for i in info])
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    widths = [max([len(str(h))] + [len(str(r[k])) for r in rows]) for k, h in enumerate(header)]
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip())
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def _parse_options(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--option {item!r} must look like KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            out[k.strip().replace("-", "_")] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip().replace("-", "_")] = v
    return out


def _read_text(p: Path) -> str:
    """A pairs file as text: UTF-8, with or without the byte-order mark spreadsheets write."""
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise UsageError(f"{p}:{line}: not UTF-8 (byte {data[e.start]:#04x}); save the file as UTF-8 (a spreadsheet's "
                         f"'CSV UTF-8'), or convert it, e.g. iconv -f latin1 -t utf-8 {p.name} > utf8-{p.name}") from e


def _read_pairs(path: str) -> list[tuple[str, str, int]]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--pairs file {path!r} does not exist")
    rows: list[dict[str, Any]]
    if p.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(_read_text(p).splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise UsageError(f"{path}:{n}: not valid JSON ({e})") from e
    elif p.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(_read_text(p), newline="")))
    else:
        raise UsageError(f"--pairs file {path!r} must be .csv or .jsonl")
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise UsageError(f"{path}: row {n} is a {type(row).__name__} ({json.dumps(row)[:60]}), not an object; "
                             'each row must look like {"image": "a.png", "text": "a cat"}')
        media = row.get("image") or row.get("video")
        text = row.get("text")
        if not media or text is None:
            raise UsageError(f"{path}: row {n} needs an 'image' (or 'video') and a 'text' field, got {sorted(row)}")
        if not isinstance(text, str):
            raise UsageError(f"{path}: row {n}: 'text' is a {type(text).__name__} ({text!r}), not a string")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise UsageError(f"{path}: row {n}: 'text' has an invalid character {text[e.start]!r} at position "
                             f"{e.start} (a lone surrogate); fix the text") from None
        if not str(media).startswith(("http://", "https://")) and not os.path.isabs(str(media)):
            media = str(p.parent / str(media))  # relative to the pairs file, as users lay out datasets
        out.append((str(media), str(text), n))
    if not out:
        raise UsageError(f"--pairs file {path!r} has no rows")
    return out


def _score(args: argparse.Namespace) -> int:
    if args.pairs and (args.image or args.text):
        raise UsageError("use either --pairs or --image/--text, not both")
    if not args.pairs and (not args.image or not args.text):
        raise UsageError("give at least one --image (or --video) and one --text, or --pairs FILE")
    if args.out and Path(args.out).suffix.lower() not in (".csv", ".jsonl", ".parquet"):
        raise UsageError(f"--out {args.out!r} must end in .csv, .jsonl or .parquet")
    if args.out and Path(args.out).suffix.lower() == ".parquet":
        _parquet_module()  # before any work: a missing writer must not cost a whole run
    from .distributed import current as current_shard
    from .frontend import get_score_model
    from .store import ScoreStore

    shard = current_shard()  # under torchrun / accelerate launch: this process scores its share only
    if shard is not None and not args.out:
        raise UsageError("a run under a launcher (WORLD_SIZE > 1) writes its merged results to --out: give --out")
    options = _parse_options(args.option)
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.no_progress:
        options["progress"] = False
    call: dict[str, Any] = {}
    if args.num_frames is not None:
        call["num_frames"] = args.num_frames
    if args.fps is not None:
        try:
            call["fps"] = args.fps if args.fps == "dynamic" else float(args.fps)
        except ValueError:
            raise UsageError(f"--fps {args.fps!r} must be a number of frames per second or 'dynamic'") from None
    device = shard.device(args.device) if shard else args.device
    # lazy: a rerun whose pairs are all in the store never loads the weights (for families that can tell
    # their weights' revision without loading, see Scorer.peek_weights_revision)
    scorer = get_score_model(args.model, device=device, dtype=args.dtype, lazy=True, **options)
    call = scorer.model.resolve_options(**call)

    # group pairs by media so that each media item is loaded and encoded once
    groups: dict[str, list[tuple[str, int]]] = {}
    if args.pairs:
        for media, text, n in _read_pairs(args.pairs):
            groups.setdefault(media, []).append((text, n))
    else:
        for k, media in enumerate(args.image):
            groups[media] = [(t, k * len(args.text) + j) for j, t in enumerate(args.text)]

    if shard is not None:
        store: ScoreStore | None = shard.open_store(args.store)
    else:
        store = ScoreStore(args.store) if args.store else None
    results: list[dict[str, Any]] = []
    scored: list[tuple[tuple[str, list[tuple[str, int]]], Any]] = []
    try:
        run = scorer.open_run(store, args.question, args.answer, call)
        from .progress import run_bar

        items = list(groups.items())
        if shard is not None:
            items = shard.select(items)
        bar = run_bar(sum(len(t) for _, t in items), desc=scorer.spec.name,
                      enabled=False if args.no_progress else None)
        chunk = 32  # media per scorer call: lets a family batch or run requests concurrently across them
        for start in range(0, len(items), chunk):
            n_failed_before, reused_before = len(results), run.reused
            part = []
            loaded = []
            for media_item, texts in items[start:start + chunk]:
                try:
                    loaded.append((scorer.model.load_media([media_item]), [t for t, _ in texts]))
                    part.append((media_item, texts))
                except MediaError as e:  # one bad file is recorded against its pairs; the run goes on
                    results += [{"row": n, "model": args.model, "media": media_item, "text": text, "score": None,
                                 "error": str(e), "note": None} for text, n in texts]
            done = list(zip(part, run.score_many(loaded)))
            scored += done
            scores = [float(v) for _, r in done for v in r.scores.reshape(-1) if v == v]
            bar.update(sum(len(t) for _, t in items[start:start + chunk]),
                       failed=len(results) - n_failed_before + sum(len(r.failures) for _, r in done),
                       reused=run.reused - reused_before, noted=sum(len(r.notes) for _, r in done),
                       scores={scorer.spec.name: scores})
        run.finish()  # pairs another run on the same store was computing
        for (media_item, texts), result in scored:
            failed = {f.text_index: f for f in result.failures}
            noted = {m.text_index: m for m in result.notes}
            for j, (text, n) in enumerate(texts):
                f, m = failed.get(j), noted.get(j)
                results.append({"row": n, "model": args.model, "media": media_item, "text": text,
                                "score": None if f else float(result.scores[0, j]), "error": f.error if f else None,
                                "note": f"{m.kind}: {m.message}" if m else None})
    finally:
        if "bar" in locals():
            bar.close()
        if store:
            store.close()
    computed, reused = run.computed, run.reused
    if shard is not None:
        shard.finish_store(args.store)
        parts = shard.gather((results, computed, reused))
        if parts is None:  # not rank 0: rank 0 writes the merged output
            print(f"t2v score: rank {shard.rank} of {shard.world}: computed {computed}, reused {reused} from the "
                  "store", file=sys.stderr)
            return 0
        results = [r for part, _, _ in parts for r in part]
        computed, reused = sum(c for _, c, _ in parts), sum(u for _, _, u in parts)
    results.sort(key=lambda r: r["row"])
    provenance = {**scorer.provenance, "call_options": call, "question_template": run.q, "answer_template": run.a}
    if args.out:
        _write(results, Path(args.out))
        Path(str(args.out) + ".provenance.json").write_text(json.dumps(provenance, indent=2, default=str))
        print(f"wrote {len(results)} rows to {args.out} (provenance: {args.out}.provenance.json); "
              f"computed {computed}, reused {reused} from the store"
              + (f" ({shard.world} processes)" if shard else ""), file=sys.stderr)
    else:
        rows = [("FAILED" if r["score"] is None else f"{r['score']:.6f}" + ("*" if r["note"] else ""), r["media"],
                 r["text"], r["error"] or "") for r in results]
        if any(r["error"] for r in results):
            _table(("score", "media", "text", "error"), rows)
        else:
            _table(("score", "media", "text"), [r[:3] for r in rows])
    if shard is None:
        print(bar.summary(), file=sys.stderr)
    n_noted = sum(1 for r in results if r["note"])
    if n_noted:
        kinds = sorted({r["note"].split(":")[0] for r in results if r["note"]})
        where = "in the note column" if args.out else "marked * above"
        print(f"t2v score: {n_noted} of {len(results)} scores are not exact values ({', '.join(kinds)}), {where}",
              file=sys.stderr)
    n_failed = sum(1 for r in results if r["score"] is None)
    if n_failed:
        first = next(r for r in results if r["score"] is None)
        retry = "rerun with the same --store to retry only those" if args.store else "rerun to retry them"
        where = f"in the error column; first: {first['media']}: {first['error']}" if args.out else "error above"
        print(f"t2v score: {n_failed} of {len(results)} pairs failed (no score; {where}); {retry}", file=sys.stderr)
        return 1
    return 0


def _write(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["model", "media", "text", "score", "error", "note"]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    elif suffix == ".jsonl":
        with open(path, "w") as fh:
            for r in rows:
                fh.write(json.dumps({c: r[c] for c in cols}) + "\n")
    else:
        pa, pq = _parquet_module()
        # an explicit schema: with no failed row, error and note stay string columns (all null), not Arrow nulls
        schema = pa.schema([("model", pa.string()), ("media", pa.string()), ("text", pa.string()),
                            ("score", pa.float64()), ("error", pa.string()), ("note", pa.string())])
        pq.write_table(pa.Table.from_pylist([{c: r[c] for c in cols} for r in rows], schema=schema), path)


def _parquet_module() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ModuleNotFoundError("writing .parquet needs pyarrow: pip install 't2v-core[parquet]'") from e
    return pa, pq


def _download(args: argparse.Namespace) -> int:
    from . import registry

    spec = registry.get_spec(args.model)
    if os.environ.get("HF_HUB_OFFLINE", "").strip() in ("1", "true", "yes"):
        raise UsageError("HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it on a machine with network")
    if not spec.weights:
        print(f"model {spec.name!r} has no weights to download (hosted or built-in)")
        return 0
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ModuleNotFoundError("t2v download needs huggingface-hub: pip install 't2v-core[hub]'") from e
    for repo in spec.weights:
        if os.path.isdir(repo):
            print(f"{repo}: local folder, nothing to download")
            continue
        if repo.startswith(("http://", "https://")) or "/" not in repo:
            print(f"{repo}: not a Hugging Face repo id, fetched by the plugin when the model is built")
            continue
        parts = repo.split("/")
        if len(parts) > 2:  # 'org/repo/file': one file of a repo (HPSv2's checkpoints)
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(repo_id="/".join(parts[:2]), filename="/".join(parts[2:]), cache_dir=args.cache_dir)
        else:
            path = snapshot_download(repo_id=repo, cache_dir=args.cache_dir)
        print(f"{repo}: {path}")
    return 0


def _envs(args: argparse.Namespace) -> int:
    from . import workers

    if args.action == "create":
        from . import registry

        if not args.target:
            raise UsageError("t2v envs create MODEL: name the model whose environment to make")
        spec = registry.get_spec(args.target)
        if not spec.requirements:
            print(f"model {spec.name!r} declares no requirements: it runs in this environment")
            return 0
        print(f"{spec.name}: {workers.ensure_env(spec.requirements, spec.python).parent.parent}")
        return 0
    if args.action == "remove":
        if not args.target:
            raise UsageError("t2v envs remove KEY (or 'all'): `t2v envs` lists the keys")
        keys = [e["key"] for e in workers.list_envs()] if args.target == "all" else [args.target]
        for key in keys:
            if not workers.remove_env(key):
                raise UsageError(f"no worker environment {key!r} under {workers.envs_root()}; `t2v envs` lists them")
            print(f"removed {key}")
        return 0
    envs = workers.list_envs()
    if args.json:
        print(json.dumps(envs, indent=2))
    elif not envs:
        print(f"no worker environments under {workers.envs_root()}")
    else:
        _table(("key", "requirements", "python", "size", "path"),
               [(e["key"], " ".join(e["requirements"]), e["python"], f"{e['size'] / 1e6:.0f} MB", e["path"])
                for e in envs])
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .frontend import get_score_model
    from .serve import serve

    scorer = get_score_model(args.model, device=args.device, dtype=args.dtype, **_parse_options(args.option))
    print(f"t2v serve: {args.model} on http://{args.host}:{args.port} (POST /score, GET /health /models /metrics)",
          file=sys.stderr)
    serve(scorer, host=args.host, port=args.port, store=args.store, max_batch=args.max_batch,
          max_wait_ms=args.max_wait_ms, max_queue=args.max_queue, media_root=args.media_root,
          allow_urls=not args.no_urls)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
