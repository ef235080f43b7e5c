import pytest

from t2v_core.errors import TemplateError
from t2v_core.templates import VISUALGPTSCORE, Templates, fill, resolve, validate


def test_fill_and_defaults():
    t = resolve(None, None, 'Q "{}"?', "Yes")
    assert t.fill("a cat") == ('Q "a cat"?', "Yes")
    assert resolve("Is it {}?", None, "x{}", "Yes").question == "Is it {}?"
    assert VISUALGPTSCORE.fill("a dog") == ("", "a dog")
    assert fill("no placeholder {{literal}}", "x") == "no placeholder {literal}"
    assert fill("{{}} {}", "x") == "{} x"


@pytest.mark.parametrize("bad", ["{0}", "{name}", "{} {}", "{:>10}", "{!r}", "unclosed {"])
def test_malformed_templates_are_refused(bad):
    with pytest.raises(TemplateError, match="question_template"):
        validate(bad, "question_template")


def test_empty_answer_is_refused():
    with pytest.raises(TemplateError, match="answer_template is empty"):
        Templates("Q {}", " ")
