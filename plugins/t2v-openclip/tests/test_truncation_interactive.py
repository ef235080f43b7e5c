"""The caption-truncation warning from interactive Python (`python -c`, `python -`, a REPL on stdin)."""

import subprocess
import sys

import pytest

CODE = ("import warnings; warnings.simplefilter('always')\n"
        "from t2v_openclip.truncation import warn_truncation\n"
        "print('cut', warn_truncation('openai:ViT-B-32', [80, 10], 77, ['a long caption', 'short']))\n")


@pytest.mark.parametrize("how", ["-c", "-", "-i"])
def test_warning_from_interactive_main_does_not_crash(how):
    argv = [sys.executable, "-c", CODE] if how == "-c" else [sys.executable, how]
    r = subprocess.run(argv, input=None if how == "-c" else CODE, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "cut 1" in r.stdout and "ImportError" not in r.stderr
    assert "CaptionTruncationWarning: 1 of 2 captions are longer than the 77-token text context" in r.stderr
