"""Question and answer templates for VQAScore: ``{}`` stands for the text being scored."""

from __future__ import annotations

import string
from dataclasses import dataclass

from .errors import TemplateError

DEFAULT_QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
DEFAULT_ANSWER = "Yes"


@dataclass(frozen=True)
class Templates:
    """A validated question/answer template pair."""

    question: str
    answer: str

    def __post_init__(self) -> None:
        validate(self.question, "question_template")
        validate(self.answer, "answer_template")
        if not self.answer.strip():
            raise TemplateError("answer_template is empty: the score is the probability of the answer, so it "
                                "needs at least one token (e.g. 'Yes', or '{}' for VisualGPTScore)")
        if not (_has_placeholder(self.question) or _has_placeholder(self.answer)):
            raise TemplateError(
                f"neither question_template {self.question!r} nor answer_template {self.answer!r} has a '{{}}' for the "
                "text, so every text would get the same score; put '{}' where the text goes (e.g. "
                "'Does this figure show \"{}\"?')")

    def fill(self, text: str) -> tuple[str, str]:
        """The question and answer for one text."""
        return fill(self.question, text), fill(self.answer, text)




def validate(template: str, field: str = "template") -> str:
    """Check that ``template`` is a string whose only placeholders are bare ``{}`` (at most one)."""
    if not isinstance(template, str):
        raise TemplateError(f"{field} must be a string, but got {type(template).__name__}")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise TemplateError(f"{field} {template!r} is malformed ({e}); write literal braces as '{{{{' and '}}}}'") from e
    fields = [name for _, name, spec, conv in parts if name is not None]
    for _, name, spec, conv in parts:
        if name is not None and (name != "" or spec or conv):
            raise TemplateError(f"{field} {template!r} has placeholder {{{name}{'!' + conv if conv else ''}"
                                f"{':' + spec if spec else ''}}}; use a bare '{{}}' for the text")
    if len(fields) > 1:
        raise TemplateError(f"{field} {template!r} has {len(fields)} '{{}}' placeholders; at most one is allowed")
    return template


def _has_placeholder(template: str) -> bool:
    return any(name is not None for _, name, _, _ in string.Formatter().parse(template))


def fill(template: str, text: str) -> str:
    """Put ``text`` where ``{}`` stands (a template without ``{}`` is returned unchanged)."""
    return template.format(text) if "{}" in template else template.replace("{{", "{").replace("}}", "}")


def resolve(question: str | None, answer: str | None, default_question: str | None,
            default_answer: str | None) -> Templates:
    """The templates for one call: the user's when given, else the model's defaults."""
    q = default_question if question is None else question
    a = default_answer if answer is None else answer
    return Templates(q if q is not None else DEFAULT_QUESTION, a if a is not None else DEFAULT_ANSWER)


# P(text | image): no question, the text itself is the answer (VisualGPTScore).
VISUALGPTSCORE = Templates(question="", answer="{}")
