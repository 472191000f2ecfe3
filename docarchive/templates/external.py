"""References from a DOCX to anything outside it: refused in templates, stripped before PDF.

A .docx can make whatever opens it fetch a URL or read a local file. LibreOffice,
converting a document to PDF on the server, loads a picture linked with ``r:link``
from ``http://…`` or ``file:///…`` (and puts it in the official PDF); Word, on a
reader's desk, also follows INCLUDETEXT fields, DDE links and attached templates.
Templates are untrusted input, so every part of the zip is searched for:

======================  =============================================================
reference               found as
======================  =============================================================
external relationship   a ``.rels`` entry with ``TargetMode="External"`` (or a target
                        with a URL scheme or a UNC path) of any type but hyperlink:
                        linked pictures and OLE objects, subdocuments, frame sources,
                        mail-merge data sources, altChunk sources …
attached template       the same, of type ``attachedTemplate`` (``w:attachedTemplate``)
misused hyperlink       an external hyperlink relationship used by anything but a
                        hyperlink: ``<a:blip r:link="rIdOfAHyperlink">`` is fetched as
                        a picture
field                   INCLUDEPICTURE, INCLUDETEXT, INCLUDE, IMPORT, LINK, DDE,
                        DDEAUTO, DATABASE, RD as *any* token (whitespace, quote or
                        backslash separated, any case) of one ``w:instrText`` or
                        ``w:delInstrText``, of a ``w:fldSimple/@w:instr``, or of a
                        field's joined instruction; a field whose name (first token)
                        is still being written when a nested field begins, or when a
                        tracked change or an ``mc:AlternateContent`` branch adds to it;
                        more than 100,000 fields in a part, or nesting deeper than 32
altChunk                ``w:altChunk``: a whole file (HTML, RTF, DOCX) imported with
                        its own references
SVG image               ``href``/``xlink:href`` other than ``#…`` or ``data:``, CSS
                        ``url()`` or ``@import`` reaching outside the image
altChunk                ``w:altChunk``: a whole file (HTML, RTF, DOCX) imported with
                        its own references
DOCTYPE                 an XML part with a document type declaration (entities);
                        Office documents have none (an SVG image with one is refused
                        too, with the advice to remove it from the image)
======================  =============================================================

The parts searched are chosen by content, not by name: every member that is ``.xml``
or ``.rels``, of an XML content type, whose first bytes look like XML (after a byte
order mark, in UTF-8, UTF-16 or UTF-32), and every part a relationship names unless
it is of a binary kind (pictures, OLE objects …). A part is skipped unparsed only
when it is plainly UTF-8 and has none of the marker strings. Refusing every token
that is a dangerous field name has false positives (``QUOTE "a link"`` is refused);
odd templates pay for that, not ordinary ones.

LibreOffice 7.4 does not follow INCLUDETEXT (it shows the field's cached result): the
refusal of that field protects readers who open the document in Word.

Plain hyperlinks (``w:hyperlink``, ``a:hlinkClick``, the HYPERLINK field) stay:
nothing follows them until a reader clicks.

What happens depends on where the file is:

- **a template, when it is loaded** (:func:`~docarchive.templates.render_docx`,
  :func:`~docarchive.templates.template_fields`, so before ``Archive.issue`` takes a
  number): an attached template is *stripped* (Word records one in every document
  made from a ``.dotx``; it names a file, it adds no content), logged at INFO.
  Every other reference is *refused*: :class:`~docarchive.errors.TemplateError` with
  one line naming the template, the part and the reference, and what to do, e.g.
  ``memo.docx: refused: word/document.xml: field INCLUDETEXT "file:///etc/passwd";
  a template may not include files or links: remove the field``.
- **the rendered document** (what ``render_docx`` returns): the same check, since a
  template can write XML with Jinja: *refused* (``refused after rendering``).
- **a DOCX handed to LibreOffice** (:class:`~docarchive.templates.PdfConverter`,
  ``docx_to_pdf``), whoever made it: every reference is *stripped*, a second layer,
  logged as a WARNING. External relationships go, with the attributes and the
  reference-only elements (``w:attachedTemplate``, ``w:subDoc`` …) that point to
  them; a misused hyperlink loses the attribute; a field keeps its last result as
  plain text; an altChunk goes. What cannot be stripped (a DOCTYPE, an XML part that
  does not parse, two zip entries of one name) is refused.
"""

from __future__ import annotations

import hashlib
import io
import logging
import posixpath
import re
import threading
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from lxml import etree  # type: ignore[import-untyped]

from ..errors import TemplateError

__all__ = [
    "DANGEROUS_FIELDS",
    "ExternalReference",
    "check_external",
    "find_external",
    "strip_external",
]

log = logging.getLogger(__name__)

#: Field names that read a file or a URL, or talk to another program.
DANGEROUS_FIELDS = frozenset(
    {
        "DATABASE",
        "DDE",
        "DDEAUTO",
        "IMPORT",  # INCLUDEPICTURE's old name
        "INCLUDE",  # INCLUDETEXT's old name
        "INCLUDEPICTURE",
        "INCLUDETEXT",
        "LINK",
        "RD",  # a referenced document, read for an index or a table of contents
    }
)
#: Elements whose ``r:id`` may name an external hyperlink relationship.
_HYPERLINK_ELEMENTS = frozenset({"hyperlink", "hlinkClick", "hlinkHover", "hlinkMouseOver"})
#: Elements that are nothing but their reference: stripped with it.
_REFERENCE_ONLY = frozenset(
    {"altChunk", "attachedTemplate", "dataSource", "headerSource", "sourceFileName", "subDoc"}
)
_RELATIONSHIPS = {
    "image": "a linked picture",
    "oleObject": "a linked OLE object",
    "package": "a linked package",
    "attachedTemplate": "an attached template",
    "subDocument": "a subdocument",
    "frame": "a frame source",
    "aFChunk": "an imported file (altChunk)",
    "mailMergeSource": "a mail-merge data source",
    "mailMergeHeaderSource": "a mail-merge header source",
}
_REFERENCES = etree.XPath(
    "//@r:* | //@s:* | //@o:relid",
    namespaces={
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "s": "http://purl.oclc.org/ooxml/officeDocument/relationships",
        "o": "urn:schemas-microsoft-com:office:office",
    },
)
_FIELD_TAGS = (
    "{*}fldSimple",
    "{*}fldChar",
    "{*}instrText",
    "{*}delInstrText",
    "{*}t",
    "{*}delText",
)
_MARKERS = (
    b"fldChar",
    b"fldSimple",
    b"nstrText",
    b"altChunk",
    b"<!DOCTYPE",
    b"svg",
    b"href",
    b"url(",
    b"@import",
)
_SVG_ROOTS = frozenset({"{http://www.w3.org/2000/svg}svg", "svg"})
#: An SVG reference that stays inside the image: a fragment or a data: URL.
_LOCAL_HREF = re.compile(r"^\s*(?:#|data:)", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]*)", re.IGNORECASE)
_HEAD = 1024
#: Relationship types whose targets are binary (read as XML only when they look like it).
_BINARY_TARGETS = frozenset(
    {
        "aFChunk",
        "activeXControlBinary",
        "attachedToolbars",
        "audio",
        "font",
        "hdphoto",
        "image",
        "keyMapCustomizations",
        "media",
        "oleObject",
        "package",
        "printerSettings",
        "thumbnail",
        "vbaProject",
        "vbaProjectSignature",
        "video",
    }
)
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_URL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:|[\\/]{2})")
#: A token of a field instruction: whitespace, quotes and backslashes separate them.
_TOKEN = re.compile(r"[^\s\"'\u2018\u2019\u201c\u201d\\]+")
#: An instruction whose first token (the field name) is complete: followed by whitespace.
_FIRST_TOKEN = re.compile(r'\s*(?:"[^"]*"|[^\s"]+)\s')
#: Containers whose content only some consumers read.
_CONDITIONAL = frozenset(
    {"AlternateContent", "Choice", "Fallback", "ins", "del", "moveFrom", "moveTo"}
)
#: At most this many fields in one part, nested at most this deep; beyond, it is refused.
MAX_FIELDS = 100_000
MAX_FIELD_DEPTH = 32
_HINTS = {
    "relationship": (
        "a template may not link to anything outside it: "
        "insert pictures and objects instead of linking them"
    ),
    "field": "a template may not include files or links: remove the field",
    "altchunk": "a template may not import other files: paste their content instead",
    "doctype": "Office documents have no DOCTYPE",
    "svg-doctype": "remove the DOCTYPE from that SVG image (or insert the picture as PNG)",
    "svg-link": (
        "a template may not link to anything outside it: embed what the SVG image "
        "shows (data: URLs) or insert the picture as PNG"
    ),
    "limit": "simplify the fields (or save the text without them)",
    "broken": "save the file again with Word or LibreOffice",
}


@dataclass(frozen=True)
class ExternalReference:
    """One reference to something outside a DOCX: where, what kind, and what it says.

    ``kind`` is ``relationship``, ``attached-template``, ``hyperlink`` (a misused one),
    ``field``, ``altchunk``, ``doctype`` or ``broken`` (a part that cannot be read).
    """

    part: str
    kind: str
    description: str

    def __str__(self) -> str:
        return f"{self.part}: {self.description}"

    @property
    def hint(self) -> str:
        """What the template's author should do about it."""
        if self.kind in ("hyperlink", "attached-template"):
            return _HINTS["relationship"]
        return _HINTS[self.kind]


#: The kinds a template may carry: stripped at load time rather than refused.
_STRIPPED_IN_TEMPLATES = frozenset({"attached-template"})
_STRIPPABLE = frozenset(
    {"relationship", "attached-template", "hyperlink", "field", "altchunk", "svg-link"}
)


def find_external(data: bytes) -> list[ExternalReference]:
    """Every reference to something outside the DOCX ``data``, in zip order."""
    return _process(data, frozenset())[1]


# Documents this process has found free of every reference, by SHA-256: a document rendered
# (and checked) a moment ago is not searched again by the converter's strip.
_CLEAN: dict[bytes, None] = {}
_CLEAN_LOCK = threading.Lock()
_CLEAN_MAX = 512


def _remember_clean(data: bytes) -> None:
    digest = hashlib.sha256(data).digest()
    with _CLEAN_LOCK:
        _CLEAN.pop(digest, None)
        while len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.pop(next(iter(_CLEAN)))
        _CLEAN[digest] = None


def _known_clean(data: bytes) -> bool:
    return hashlib.sha256(data).digest() in _CLEAN


def check_external(data: bytes, name: str, *, rendered: bool = False) -> bytes:
    """``data`` with attached templates stripped; any other reference is refused.

    The :class:`~docarchive.errors.TemplateError` names ``name``, the first reference
    and how many more there are; ``rendered`` says the document was rendered from it.
    """
    cleaned, found = _process(data, _STRIPPED_IN_TEMPLATES, name)
    refused = [ref for ref in found if ref.kind not in _STRIPPED_IN_TEMPLATES]
    if refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        stage = "refused after rendering" if rendered else "refused"
        raise TemplateError(f"{name}: {stage}: {first}{more}; {first.hint}")
    for ref in found:
        log.info("%s: stripped %s", name, ref)
    _remember_clean(cleaned)  # every reference found was refused or stripped
    return cleaned


def strip_external(data: bytes, name: str) -> bytes:
    """``data`` with every reference stripped (see the module); refused if one cannot be.

    A document this process already found free of references (the very bytes
    :func:`check_external` returned, or this function did) is returned as it is."""
    if _known_clean(data):
        return data
    cleaned, found = _process(data, _STRIPPABLE, name)
    kept = [ref for ref in found if ref.kind not in _STRIPPABLE]
    if kept:
        raise TemplateError(f"{name}: refused: {kept[0]}; {kept[0].hint}")
    for ref in found:
        log.warning("%s: stripped before conversion: %s", name, ref)
    _remember_clean(cleaned)
    return cleaned


# -- the search -------------------------------------------------------------------------------


def _local(tag: str) -> tuple[str, str]:
    """``{ns}name`` → (ns, name)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _attr(element: Any, local: str) -> str:
    for key, value in element.attrib.items():
        if _local(key)[1] == local:
            return str(value)
    return ""


def _qname(element: Any, key: str) -> str:
    """``a:blip r:link``: an element and one of its attributes, with their prefixes."""
    ns, attr = _local(key)
    prefixes = {uri: prefix for prefix, uri in element.nsmap.items() if prefix}
    tag = f"{element.prefix}:{_local(element.tag)[1]}" if element.prefix else element.tag
    return f"{tag} {prefixes[ns]}:{attr}" if ns in prefixes else f"{tag} {attr}"


def _short(text: str, size: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _drop(element: Any) -> None:
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _unwrap(element: Any) -> None:
    """Replace ``element`` by its children (a simple field by its result), in O(children)."""
    if element.getparent() is None:
        return
    for child in list(element):
        element.addprevious(child)
    _drop(element)


def _source_of(rels: str) -> str | None:
    """``word/_rels/document.xml.rels`` → ``word/document.xml``; ``_rels/.rels`` → ``""``."""
    folder, _, base = rels.rpartition("/")
    parent, _, last = folder.rpartition("/")
    if last.lower() != "_rels" or not base.lower().endswith(".rels"):
        return None
    source = base[: -len(".rels")]
    return f"{parent}/{source}" if parent else source


def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _looks_like_xml(head: bytes) -> bool:
    """True when ``head`` (a member's first bytes) may be XML, in any encoding a reader takes:
    ``<`` after an optional byte order mark and whitespace, NUL bytes (UTF-16, UTF-32) ignored."""
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        head = head.removeprefix(bom)
    return head.lstrip(b" \t\r\n\x00").startswith(b"<")


def _xml_members(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> set[str]:
    """The members to read as XML, whatever their names: ``.xml``, ``.rels``, any part of an
    XML content type, and any member whose first bytes look like XML (a header stored as
    ``word/footer1.bin`` is read by Word all the same). Binary members stay unread."""
    names = {info.filename for info in infos}
    found = {n for n in names if n.lower().endswith((".xml", ".rels"))}
    for info in infos:
        if info.filename not in found:
            with zf.open(info) as member:
                if _looks_like_xml(member.read(_HEAD)):
                    found.add(info.filename)
    types = next((n for n in names if n.lower() == "[content_types].xml"), None)
    if types is None:
        return found
    try:
        root = etree.fromstring(zf.read(types), _parser())
    except etree.XMLSyntaxError:
        return found
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for element in root.iter(etree.Element):
        local = _local(element.tag)[1]
        if local == "Default":
            defaults[_attr(element, "Extension").lower()] = _attr(element, "ContentType")
        elif local == "Override":
            part = _attr(element, "PartName").lstrip("/").lower()
            overrides[part] = _attr(element, "ContentType")
    for name in names:
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        content_type = overrides.get(name.lower(), defaults.get(extension, ""))
        if content_type.lower().split(";")[0].strip().endswith("xml"):
            found.add(name)
    return found


def _targets(source: str, root: Any) -> dict[str, str]:
    """The internal targets of one ``.rels`` as lower-case member names → relationship type."""
    folder = source.rpartition("/")[0]
    found: dict[str, str] = {}
    for element in root.iter("{*}Relationship"):
        target = _attr(element, "Target")
        if _attr(element, "TargetMode").strip().lower() == "external" or _URL.match(target):
            continue
        target = unquote(target.split("#", 1)[0])
        path = target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"
        name = posixpath.normpath(path).lstrip("/").lower()
        found[name] = _attr(element, "Type").rstrip("/").rpartition("/")[2]
    return found


@dataclass
class _Relationships:
    """What the ``.rels`` of one part say: targets by id, and what was found in them."""

    targets: dict[str, str] = field(default_factory=dict)
    hyperlinks: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


@dataclass
class _Field:
    """One field: indices into the element list (``begin``…``separate``, ``end``)."""

    begin: int
    simple: bool
    own: list[str] = field(default_factory=list)
    problem: str | None = None  # the name is computed or depends on alternatives
    separate: int | None = None
    end: int | None = None

    @property
    def instruction(self) -> str:
        return "".join(self.own)


class _TooManyFields(Exception):
    """A part with more fields, or fields nested deeper, than :data:`MAX_FIELDS` allow."""


def _within_first_token(instruction: str) -> bool:
    """True while the field name, the first token of ``instruction``, may still grow."""
    return _FIRST_TOKEN.match(instruction) is None


def _conditional(element: Any, cache: dict[Any, bool]) -> bool:
    """True when ``element`` is read by some consumers only: a tracked change or one
    branch of ``mc:AlternateContent`` (memoised per ancestor, so linear overall)."""
    path = []
    node = element
    answer = False
    while node is not None:
        if node in cache:
            answer = cache[node]
            break
        path.append(node)
        if _local(node.tag)[1] in _CONDITIONAL:
            answer = True
            break
        node = node.getparent()
    for visited in path:
        cache[visited] = answer
    return answer


def _fields(elements: list[Any]) -> list[_Field]:
    """The fields among ``elements`` (document order): simple ones and begin…end ones.

    Raises :class:`_TooManyFields` beyond :data:`MAX_FIELDS` fields or
    :data:`MAX_FIELD_DEPTH` nested ones: the work is linear in ``elements``.
    """
    stack: list[_Field] = []
    done: list[_Field] = []
    cache: dict[Any, bool] = {}
    count = 0

    def add() -> None:
        nonlocal count
        count += 1
        if count > MAX_FIELDS:
            raise _TooManyFields(f"more than {MAX_FIELDS} fields")

    for index, element in enumerate(elements):
        local = _local(element.tag)[1]
        top = stack[-1] if stack and stack[-1].separate is None else None
        if local == "fldSimple":
            add()
            done.append(_Field(index, simple=True, own=[_attr(element, "instr")]))
        elif local == "fldChar":
            kind = _attr(element, "fldCharType")
            if kind == "begin":
                add()
                if len(stack) >= MAX_FIELD_DEPTH:
                    raise _TooManyFields(f"fields nested more than {MAX_FIELD_DEPTH} deep")
                if top is not None and _within_first_token(top.instruction):
                    top.problem = "a field whose name comes from a nested field"
                stack.append(_Field(index, simple=False))
            elif kind == "separate" and stack:
                if stack[-1].separate is None:
                    stack[-1].separate = index
            elif kind == "end" and stack:
                done_field = stack.pop()
                done_field.end = index
                done.append(done_field)
        elif local in ("instrText", "delInstrText") and top is not None:
            if (
                top.problem is None
                and _within_first_token(top.instruction)
                and (local == "delInstrText" or _conditional(element, cache))
            ):
                top.problem = "a field whose name depends on tracked changes or alternative content"
            top.own.append(element.text or "")
    return done + stack  # a field never ended counts too


def _dangerous_name(text: str) -> str | None:
    """The first dangerous field name among the tokens of ``text``, or None."""
    for token in _TOKEN.findall(text):
        name = str(token).upper()
        if name in DANGEROUS_FIELDS:
            return name
    return None


def _dangerous(f: _Field) -> str | None:
    """What is wrong with field ``f``, or None."""
    if f.problem is not None:
        return f"{f.problem}: {_short(f.instruction)}"
    if any(_dangerous_name(piece) for piece in f.own) or _dangerous_name(f.instruction):
        return f"field {_short(f.instruction.strip())}"
    return None


def _process(
    data: bytes, strip: frozenset[str], name: str = "document"
) -> tuple[bytes, list[ExternalReference]]:
    """The references in ``data``, and ``data`` with those of the kinds ``strip`` stripped."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _search(zf, data, strip)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise TemplateError(f"{name}: broken .docx file: {exc}") from exc


def _search(
    zf: zipfile.ZipFile, data: bytes, strip: frozenset[str]
) -> tuple[bytes, list[ExternalReference]]:
    found: list[ExternalReference] = []
    infos = [info for info in zf.infolist() if not info.is_dir()]
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            found.append(
                ExternalReference(info.filename, "broken", "two zip entries with this name")
            )
        seen.add(info.filename)
    if found:
        return data, found  # which one would a reader take?
    xml = _xml_members(zf, infos)
    raw = {info.filename: zf.read(info) for info in infos if info.filename in xml}
    trees: dict[str, Any] = {}

    def tree(member: str) -> Any:
        if member not in trees:
            try:
                trees[member] = etree.fromstring(raw[member], _parser())
            except etree.XMLSyntaxError as exc:
                trees[member] = None
                found.append(ExternalReference(member, "broken", f"XML that does not parse: {exc}"))
            else:
                if trees[member].getroottree().docinfo.doctype:
                    if trees[member].tag in _SVG_ROOTS:
                        what = "an SVG image with an XML DOCTYPE"
                        found.append(ExternalReference(member, "svg-doctype", what))
                    else:
                        found.append(ExternalReference(member, "doctype", "an XML DOCTYPE"))
        return trees[member]

    changed: dict[str, bytes] = {}
    # relationships first: the parts' references are checked against them
    relationships: dict[str, _Relationships] = {}
    targets: dict[str, str] = {}
    for member in list(raw):
        if not member.lower().endswith(".rels") or (root := tree(member)) is None:
            continue
        source = _source_of(member)
        targets.update(_targets(source or "", root))
        rels = relationships.setdefault((source or member).lower(), _Relationships())
        if _search_relationships(source or member, root, rels, strip, found):
            changed[member] = _serialise(root)
    # every part a relationship names is read as XML, unless it is of a binary kind
    for info in infos:
        kind = targets.get(info.filename.lower())
        if kind is not None and kind not in _BINARY_TARGETS and info.filename not in raw:
            raw[info.filename] = zf.read(info)
    for member in list(raw):
        if targets.get(member.lower()) == "aFChunk" and not member.lower().endswith(".xml"):
            del raw[member]  # HTML, RTF, text: the altChunk itself is refused or stripped
    for member, content in raw.items():
        if member.lower().endswith(".rels"):
            continue
        rels = relationships.get(member.lower(), _Relationships())
        if _plain(content) and not rels.hyperlinks and not rels.removed:
            continue  # no field, altChunk or DOCTYPE, and nothing external to point to
        if (root := tree(member)) is None:
            continue
        refs, dirty = _search_part(member, root, rels, strip)
        found.extend(refs)
        if dirty:
            changed[member] = _serialise(root)
    if not changed or any(ref.kind == "broken" for ref in found):
        return data, found  # unchanged, or refused anyway
    return _rewrite(zf, infos, changed), found


def _plain(content: bytes) -> bool:
    """True when ``content`` is UTF-8 XML without a field, an altChunk or a DOCTYPE.

    Element names cannot be written with character references, so in UTF-8 their
    bytes are there to find; any other encoding is parsed.
    """
    head = content[:_HEAD]
    if b"\x00" in head:
        return False  # UTF-16 or UTF-32, with or without a byte order mark
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<"):
        return False
    if head.startswith(b"<?xml"):
        declaration = head.partition(b"?>")
        if not declaration[1]:
            return False  # not complete within the head: parse
        declared = _ENCODING.match(declaration[0] + b"?>")
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            return False
    return not any(marker in content for marker in _MARKERS)


def _search_relationships(
    shown: str,
    root: Any,
    rels: _Relationships,
    strip: frozenset[str],
    found: list[ExternalReference],
) -> bool:
    """Record the relationships of one ``.rels``; strip the external ones of kinds in ``strip``."""
    dirty = False
    for element in list(root.iter("{*}Relationship")):
        rid, target = _attr(element, "Id"), _attr(element, "Target")
        rels.targets[rid] = target
        mode = _attr(element, "TargetMode").strip().lower()
        if mode != "external" and not _URL.match(target):
            continue
        kind_of = _attr(element, "Type").rstrip("/").rpartition("/")[2]
        if kind_of == "hyperlink":
            rels.hyperlinks.add(rid)
            continue
        what = _RELATIONSHIPS.get(kind_of, f"an external {kind_of or 'untyped'} relationship")
        kind = "attached-template" if kind_of == "attachedTemplate" else "relationship"
        found.append(ExternalReference(shown, kind, f"{what} to {_short(target)}"))
        if kind in strip:
            rels.removed.add(rid)
            _drop(element)
            dirty = True
    return dirty


def _search_part(
    member: str, root: Any, rels: _Relationships, strip: frozenset[str]
) -> tuple[list[ExternalReference], bool]:
    """The references in one XML part; stripped (those of the kinds in ``strip``) in place."""
    found: list[ExternalReference] = []
    drop: list[Any] = []
    dirty = False
    if rels.hyperlinks or rels.removed:
        for value in _REFERENCES(root):
            element, key = value.getparent(), value.attrname
            local, attr = _local(element.tag)[1], _local(key)[1]
            if value in rels.removed:  # its relationship was stripped: so is the reference
                del element.attrib[key]
                dirty = True
                if local in _REFERENCE_ONLY:
                    drop.append(element)
            elif value in rels.hyperlinks and not (local in _HYPERLINK_ELEMENTS and attr == "id"):
                target = _short(rels.targets.get(value, ""))
                what = f"a hyperlink to {target} used as the source of <{_qname(element, key)}>"
                found.append(ExternalReference(member, "hyperlink", what))
                if "hyperlink" in strip:
                    del element.attrib[key]
                    dirty = True
    for element in root.iter("{*}altChunk"):
        target = rels.targets.get(_attr(element, "id"), "")
        found.append(
            ExternalReference(member, "altchunk", f"an altChunk importing {target or 'a file'}")
        )
        if "altchunk" in strip:
            drop.append(element)
    if next(root.iter("{*}fldChar", "{*}fldSimple"), None) is not None:
        elements = list(root.iter(*_FIELD_TAGS))
        try:
            fields = _fields(elements)
        except _TooManyFields as exc:
            found.append(ExternalReference(member, "limit", str(exc)))
            fields = []
        # a complex field loses begin…separate (its instruction) and end; its result stays
        marks = [0] * (len(elements) + 1)  # +1 where a dropped range starts, -1 past its end
        unwrap: list[Any] = []
        for f in fields:
            problem = _dangerous(f)
            if problem is None:
                continue
            found.append(ExternalReference(member, "field", problem))
            if "field" not in strip:
                continue
            dirty = True
            if f.simple:
                unwrap.append(elements[f.begin])
                continue
            last = f.separate if f.separate is not None else f.end
            last = len(elements) - 1 if last is None else last
            marks[f.begin] += 1
            marks[last + 1] -= 1
            if f.end is not None and f.end > last:
                marks[f.end] += 1
                marks[f.end + 1] -= 1
        depth = 0
        for index, element in enumerate(elements):
            depth += marks[index]
            if depth > 0:
                drop.append(element)
        for element in unwrap:
            _unwrap(element)
    if root.tag in _SVG_ROOTS:
        dirty = _search_svg(member, root, strip, found) or dirty
    for element in drop:
        _drop(element)
    return found, dirty or bool(drop)


def _search_svg(
    member: str, root: Any, strip: frozenset[str], found: list[ExternalReference]
) -> bool:
    """SVG images: ``href``/``xlink:href`` and CSS ``url()``/``@import`` reaching outside."""
    dirty = False
    for element in list(root.iter(etree.Element)):
        for key, value in list(element.attrib.items()):
            attr = _local(key)[1]
            if attr == "href" and not _LOCAL_HREF.match(value):
                what = f"an SVG image linking to {_short(value)} (<{_qname(element, key)}>)"
            elif attr == "style" and _css_external(value):
                what = f"an SVG image with a style reaching outside: {_short(value)}"
            else:
                continue
            found.append(ExternalReference(member, "svg-link", what))
            if "svg-link" in strip:
                del element.attrib[key]
                dirty = True
        if _local(element.tag)[1] == "style" and _css_external(element.text or ""):
            what = f"an SVG image with a style sheet reaching outside: {_short(element.text)}"
            found.append(ExternalReference(member, "svg-link", what))
            if "svg-link" in strip:
                element.text = ""
                dirty = True
    return dirty


def _css_external(css: str) -> bool:
    if "@import" in css.lower():
        return True
    return any(not _LOCAL_HREF.match(url) for url in _CSS_URL.findall(css))


def _serialise(root: Any) -> bytes:
    docinfo = root.getroottree().docinfo
    out: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=docinfo.standalone
    )
    return out


def _rewrite(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], changed: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in infos:
            name = info.filename
            new.writestr(info, changed[name] if name in changed else zf.read(info))
    return out.getvalue()
