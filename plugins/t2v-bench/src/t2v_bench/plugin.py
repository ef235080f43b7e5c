"""Registration of the built-in benchmarks. Imported at plugin discovery: it imports nothing heavy."""

from t2v_core import BenchmarkSpec, CommandSpec, hookimpl

_M = "t2v_bench.datasets"
_C = "t2v_bench.camerabench"

BUILTIN = (
    BenchmarkSpec(name="genai-bench-image", loader=f"{_M}:load_genai_bench_image", aliases=("genai-bench",),
                  description="GenAI-Bench image (1600 or 527 prompts): per-skill scores of your generators; "
                              "human agreement on the published generations"),
    BenchmarkSpec(name="genai-bench-video", loader=f"{_M}:load_genai_bench_video", media=("video", "image"),
                  description="GenAI-Bench video (800 or 527 prompts): per-skill scores and human agreement"),
    BenchmarkSpec(name="genai-rank", loader=f"{_M}:load_genai_rank", aliases=("genai-image-ranking",),
                  description="GenAI-Rank: ranking 9 generations per prompt against human ratings"),
    BenchmarkSpec(name="winoground", loader=f"{_M}:load_winoground",
                  description="Winoground: text / image / group accuracy on 400 2x2 items"),
    BenchmarkSpec(name="eqben-mini", loader=f"{_M}:load_eqben_mini", aliases=("eqben",),
                  description="EqBen mini (VQAScore paper subset): text / image / group accuracy"),
    BenchmarkSpec(name="naturalbench-retrieval", loader=f"{_M}:load_naturalbench_retrieval",
                  aliases=("naturalbench",),
                  description="NaturalBench retrieval: text / image / group accuracy"),
    BenchmarkSpec(name="tifa160", loader=f"{_M}:load_tifa160", aliases=("tifa160-dsg",),
                  description="TIFA160 with DSG Likert ratings: correlation and pairwise accuracy"),
    BenchmarkSpec(name="pickapic-v1", loader=f"{_M}:load_pickapic_v1", aliases=("pick-a-pic",),
                  description="Pick-a-Pic v1 (100 pairs): human preference accuracy"),
    BenchmarkSpec(name="seetrue", loader=f"{_M}:load_seetrue",
                  description="SeeTRUE: AUROC of aligned vs misaligned pairs, per source"),
    BenchmarkSpec(name="stanfordt23d", loader=f"{_M}:load_stanfordt23d",
                  description="StanfordT23D: text-to-3D view grids vs human ratings"),
    BenchmarkSpec(name="t2vscore", loader=f"{_M}:load_t2vscore", media=("video", "image"),
                  description="T2VScore (EvalCrafter videos): agreement with human alignment ratings"),
    BenchmarkSpec(name="camerabench-binary", loader=f"{_C}:load_camerabench_binary", media=("video",),
                  description="CameraBench binary: AP and ROC-AUC of 15 camera-motion yes/no splits"),
    BenchmarkSpec(name="camerabench-vqa", loader=f"{_C}:load_camerabench_vqa", media=("video",),
                  description="CameraBench VQA: binary and question accuracy of 2x2 video/question items"),
    BenchmarkSpec(name="camerabench-retrieval", loader=f"{_C}:load_camerabench_retrieval", media=("video",),
                  description="CameraBench retrieval: Winoground-style text / image / group per skill"),
    BenchmarkSpec(name="camerabench-caption", loader=f"{_C}:load_camerabench_caption", media=("video",),
                  description="CameraBench captions: the reference's (simplified) caption metrics, and COCO's"),
    BenchmarkSpec(name="flickr8k-cf", loader=f"{_M}:load_flickr8k_cf", aliases=("flickr8k",),
                  description="Flickr8K-CF: caption ratings, correlation and pairwise accuracy"),
)


@hookimpl
def register_benchmarks(register):
    for spec in BUILTIN:
        register(spec)


@hookimpl
def register_commands(register):
    register(CommandSpec(name="bench", main="t2v_bench.cli:main",
                         help="run benchmarks, list them, make reports: t2v bench --help"))
