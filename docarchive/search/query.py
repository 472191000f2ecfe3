"""Query parsing for the whoosh index: whoosh's query language over the archive's fields.

Words go to the stemmed ``all`` field (subject, text, parties, number and file
names in one field, the subject weighing double), so a two-word query is two term
lookups, not fourteen. Everything whoosh's parser knows passes through: phrases,
``AND``/``OR``/``NOT``, ``field:`` prefixes, wildcards, ranges. A phrase matches
stemmed (``"دوام رسمي"`` finds ``الدوام الرسمي``) and ranks the documents that hold
it in exactly the form asked for first (:class:`ExactPhrase`, using the form
fingerprints of :class:`~docarchive.search.analysis.FormPositions`);
``exact:"..."`` keeps only those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh import matching, query
from whoosh.qparser import FieldAliasPlugin, QueryParser
from whoosh.qparser.plugins import GtLtPlugin
from whoosh.query.spans import SpanNear2

from ..errors import SearchError
from .analysis import FormPositions, exact_form, form_code

__all__ = [
    "EXACT_FACTOR",
    "ExactPhrase",
    "check_syntax",
    "parse_query",
    "parse_tree",
    "query_parser",
]

#: How much an exact-form phrase outranks the same phrase matched through stems.
EXACT_FACTOR = 10.0

#: Other names users may type for a field (``text:`` searches ``all``, which holds it).
FIELD_ALIASES = {
    "all": ["text", "body", "content"],
    "attachments": ["attachment", "file", "files"],
    "recipients": ["recipient", "to"],
    "sender": ["from"],
}


class ExactPhrase(query.Phrase):  # type: ignore[misc]
    """A phrase in a :class:`FormPositions` field whose exact-form occurrences score
    :data:`EXACT_FACTOR` times higher, or (``required``) are the only ones matched.

    ``forms`` holds the one-byte fingerprint of each word's exact form; without it
    this is an ordinary phrase.
    """

    def __init__(
        self,
        fieldname: str,
        words: list[str],
        slop: int = 1,
        boost: float = 1.0,
        char_ranges: list[tuple[int | None, int | None]] | None = None,
        forms: list[int] | None = None,
        required: bool = False,
    ) -> None:
        super().__init__(fieldname, words, slop=slop, boost=boost, char_ranges=char_ranges)
        self.forms = forms
        self.required = required

    def __eq__(self, other: object) -> bool:
        return (
            super().__eq__(other)
            and isinstance(other, ExactPhrase)
            and (self.forms, self.required) == (other.forms, other.required)
        )

    def __hash__(self) -> int:
        return hash((super().__hash__(), tuple(self.forms or ()), self.required))

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        names = searcher.schema.names()
        field: Any = searcher.schema[self.fieldname] if self.fieldname in names else None
        forms = self.forms
        if field is None or forms is None or not isinstance(field.format, FormPositions):
            return super().matcher(searcher, context)
        if len(self.words) == 1 and self.required:
            return _ExactTermMatcher.make(searcher, self.fieldname, self.words[0], forms)
        if len(forms) != len(self.words) or len(forms) < 2 or self.slop != 1:
            return super().matcher(searcher, context)
        reader = searcher.reader()
        terms = []
        for word in self.words:
            btext = field.to_bytes(word)
            if (self.fieldname, btext) not in reader:
                return matching.NullMatcher()
            terms.append(query.Term(self.fieldname, btext))
        inner = SpanNear2(terms, slop=1, ordered=True, mindist=1).matcher(searcher, context)
        if not inner.is_active():
            return matching.NullMatcher()
        return _ExactPhraseMatcher(inner, field.format, forms, self.required, self.boost)


class _ExactPhraseMatcher(matching.WrappingMatcher):  # type: ignore[misc]
    """Wraps a SpanNear2 matcher; scores (or keeps) documents holding the exact forms."""

    def __init__(
        self, child: Any, fmt: FormPositions, forms: list[int], required: bool, boost: float
    ) -> None:
        super().__init__(child, boost=boost)
        self._fmt = fmt
        self._forms = forms
        self._required = required
        if required:
            self._advance()

    def _exact(self) -> bool:
        ms = self.child.ms
        first = self._fmt.decode_forms(ms[0].value())
        others = [self._fmt.decode_forms(m.value()) for m in ms[1:]]
        forms = self._forms
        for start, code in first.items():
            if code != forms[0]:
                continue
            if all(o.get(start + i + 1) == forms[i + 1] for i, o in enumerate(others)):
                return True
        return False

    def _advance(self) -> None:
        while self.child.is_active() and not self._exact():
            self.child.next()

    def copy(self) -> _ExactPhraseMatcher:
        return _ExactPhraseMatcher(
            self.child.copy(), self._fmt, self._forms, self._required, self.boost
        )

    def replace(self, minquality: float = 0) -> Any:
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self) -> bool:
        return False

    def next(self) -> None:
        self.child.next()
        if self._required:
            self._advance()

    def skip_to(self, id: int) -> None:
        self.child.skip_to(id)
        if self._required:
            self._advance()

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            yield self.id()
            self.next()

    def score(self) -> float:
        score = float(self.child.score() * self.boost)
        if not self._required and self._exact():
            score *= EXACT_FACTOR
        return score


class _ExactTermMatcher(matching.WrappingMatcher):  # type: ignore[misc]
    """One word that must occur in its exact form (``exact:word``)."""

    @classmethod
    def make(cls, searcher: Any, fieldname: str, word: str, forms: list[int]) -> Any:
        field = searcher.schema[fieldname]
        if not isinstance(field.format, FormPositions):
            return query.Term(fieldname, word).matcher(searcher)
        m = query.Term(fieldname, word).matcher(searcher)
        return cls(m, field.format, forms[0]) if m.is_active() else matching.NullMatcher()

    def __init__(self, child: Any, fmt: FormPositions, form: int) -> None:
        super().__init__(child)
        self._fmt = fmt
        self._form = form
        self._advance()

    def _advance(self) -> None:
        while (
            self.child.is_active()
            and self._form not in self._fmt.decode_forms(self.child.value()).values()
        ):
            self.child.next()

    def copy(self) -> _ExactTermMatcher:
        return _ExactTermMatcher(self.child.copy(), self._fmt, self._form)

    def replace(self, minquality: float = 0) -> Any:
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self) -> bool:
        return False

    def next(self) -> None:
        self.child.next()
        self._advance()

    def skip_to(self, id: int) -> None:
        self.child.skip_to(id)
        self._advance()

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            yield self.id()
            self.next()


def query_parser(schema: Any, default_field: str = "all") -> QueryParser:
    """whoosh's parser over ``schema`` with the archive's aliases and exact phrases."""
    parser = QueryParser(default_field, schema)
    aliases = {k: v for k, v in FIELD_ALIASES.items() if k in schema}
    parser.add_plugin(FieldAliasPlugin(aliases))
    parser.add_plugin(GtLtPlugin())
    parser.phraseclass = ExactPhrase
    return parser


def _words_with_forms(q: ExactPhrase, text: str) -> list[int] | None:
    forms = []
    for start, end in q.char_ranges or []:
        if start is None or end is None:
            return None
        forms.append(form_code(exact_form(text[start:end])))
    return forms


def _attach_forms(q: Any, text: str, default_field: str) -> Any:
    """Give each phrase the fingerprints of its words' exact forms; turn ``exact:``
    phrases and words into required exact matches on ``default_field``."""
    if isinstance(q, ExactPhrase):
        forms = _words_with_forms(q, text)
        if len(forms or []) != len(q.words):
            forms = None
        required = q.required or q.fieldname == "exact"
        fieldname = default_field if q.fieldname == "exact" else q.fieldname
        return ExactPhrase(
            fieldname, q.words, q.slop, q.boost, q.char_ranges, forms, required=required
        )
    if isinstance(q, query.Term) and q.fieldname == "exact":
        start, end = getattr(q, "startchar", None), getattr(q, "endchar", None)
        forms = [form_code(exact_form(text[start:end]))] if start is not None else None
        stem = q.text
        return ExactPhrase(default_field, [stem], forms=forms, required=True, boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(lambda sub: _attach_forms(sub, text, default_field))


def check_syntax(text: str) -> None:
    """Refuse what whoosh's lenient parser would silently guess at: an unclosed quote,
    parenthesis or range."""
    if text.count('"') % 2:
        raise SearchError(f'cannot parse the query {text!r}: a " is not closed')
    depth = 0
    for ch in text.replace('\\"', ""):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            raise SearchError(f"cannot parse the query {text!r}: a ) closes nothing")
    if depth:
        raise SearchError(f"cannot parse the query {text!r}: a ( is not closed")
    opened = sum(text.count(c) for c in "[{")
    closed = sum(text.count(c) for c in "]}")
    if opened != closed:
        raise SearchError(f"cannot parse the query {text!r}: a range [a TO b] is not closed")


def parse_tree(parser: QueryParser, text: str) -> Any:
    """Parse ``text`` into whoosh's query tree, as the parser gives it (the tantivy index
    translates this tree); a syntax error becomes a one-line :class:`SearchError`."""
    check_syntax(text)
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # whoosh raises bare Exception for bad dates and fields
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise SearchError(f"cannot parse the query {text!r}: {message}") from exc
    for node in _walk(parsed):
        if isinstance(node, query.Query) and type(node).__name__ == "ErrorQuery":
            raise SearchError(f"cannot parse the query {text!r}: {node}")
    return parsed


def parse_query(parser: QueryParser, text: str) -> Any:
    """Parse ``text`` for the whoosh index (phrases with their exact forms); a syntax
    error becomes a one-line :class:`SearchError`."""
    return _attach_forms(parse_tree(parser, text), text, parser.fieldname)


def _walk(q: Any) -> Iterator[Any]:
    yield q
    if not q.is_leaf():
        for child in q.children():
            yield from _walk(child)
