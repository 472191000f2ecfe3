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
                        DDEAUTO, DATABASE, RD, simple (``w:fldSimple``) or complex
                        (instructions split over runs are joined), and a field whose
                        name comes from a nested field
altChunk                ``w:altChunk``: a whole file (HTML, RTF, DOCX) imported with
                        its own references
DOCTYPE                 an XML part with a document type declaration (entities);
                        Office documents have none
======================  =============================================================

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

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

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
_MARKERS = (b"fldChar", b"fldSimple", b"nstrText", b"altChunk", b"<!DOCTYPE")
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_URL = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:|[\\/]{2})")
_FIELD_NAME = re.compile(r"^\s*([A-Za-z]+)")
_HINTS = {
    "relationship": (
        "a template may not link to anything outside it: "
        "insert pictures and objects instead of linking them"
    ),
    "field": "a template may not include files or links: remove the field",
    "altchunk": "a template may not import other files: paste their content instead",
    "doctype": "Office documents have no DOCTYPE",
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
_STRIPPABLE = frozenset({"relationship", "attached-template", "hyperlink", "field", "altchunk"})


def find_external(data: bytes) -> list[ExternalReference]:
    """Every reference to something outside the DOCX ``data``, in zip order."""
    return _process(data, frozenset())[1]


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
    return cleaned


def strip_external(data: bytes, name: str) -> bytes:
    """``data`` with every reference stripped (see the module); refused if one cannot be."""
    cleaned, found = _process(data, _STRIPPABLE, name)
    kept = [ref for ref in found if ref.kind not in _STRIPPABLE]
    if kept:
        raise TemplateError(f"{name}: refused: {kept[0]}; {kept[0].hint}")
    for ref in found:
        log.warning("%s: stripped before conversion: %s", name, ref)
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
    """Replace ``element`` by its children (a simple field by its result)."""
    parent = element.getparent()
    if parent is None:
        return
    at = parent.index(element)
    for offset, child in enumerate(list(element)):
        parent.insert(at + offset, child)
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


def _xml_members(zf: zipfile.ZipFile) -> set[str]:
    """The members that are XML: ``.xml``, ``.rels``, and any part of an XML content type."""
    names = {info.filename for info in zf.infolist() if not info.is_dir()}
    found = {n for n in names if n.lower().endswith((".xml", ".rels"))}
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


@dataclass
class _Relationships:
    """What the ``.rels`` of one part say: targets by id, and what was found in them."""

    targets: dict[str, str] = field(default_factory=dict)
    hyperlinks: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


@dataclass
class _Field:
    start: Any
    simple: bool
    own: list[str] = field(default_factory=list)
    computed: bool = False
    in_instruction: bool = True
    region: list[Any] = field(default_factory=list)

    @property
    def instruction(self) -> str:
        return "".join(self.own)


def _fields(elements: list[Any]) -> list[_Field]:
    """The fields among ``elements`` (document order): simple ones and begin…end ones."""
    stack: list[_Field] = []
    done: list[_Field] = []

    def in_instructions(element: Any) -> None:
        for f in stack:
            if f.in_instruction:
                f.region.append(element)

    for element in elements:
        local = _local(element.tag)[1]
        if local == "fldSimple":
            done.append(_Field(element, simple=True, own=[_attr(element, "instr")]))
        elif local == "fldChar":
            kind = _attr(element, "fldCharType")
            if kind == "begin":
                if stack and stack[-1].in_instruction and not stack[-1].instruction.strip():
                    stack[-1].computed = True
                in_instructions(element)
                stack.append(_Field(element, simple=False, region=[element]))
            elif kind == "separate" and stack:
                top = stack[-1]
                in_instructions(element)
                top.in_instruction = False
            elif kind == "end" and stack:
                top = stack.pop()
                top.region.append(element)
                in_instructions(element)
                done.append(top)
        elif local in ("instrText", "delInstrText"):
            if stack and stack[-1].in_instruction:
                stack[-1].own.append(element.text or "")
            in_instructions(element)
        elif local in ("t", "delText"):
            in_instructions(element)
    return done + stack  # a field never ended counts too


def _dangerous(f: _Field) -> str | None:
    """What is wrong with field ``f``, or None."""
    if f.computed:
        return f"a field whose name comes from a nested field: {_short(f.instruction)}"
    found = _FIELD_NAME.match(f.instruction)
    if found and found.group(1).upper() in DANGEROUS_FIELDS:
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
    xml = _xml_members(zf)
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
                    found.append(ExternalReference(member, "doctype", "an XML DOCTYPE"))
        return trees[member]

    changed: dict[str, bytes] = {}
    # relationships first: the parts' references are checked against them
    relationships: dict[str, _Relationships] = {}
    for member in raw:
        if not member.lower().endswith(".rels") or (root := tree(member)) is None:
            continue
        source = _source_of(member)
        rels = relationships.setdefault((source or member).lower(), _Relationships())
        if _search_relationships(source or member, root, rels, strip, found):
            changed[member] = _serialise(root)
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
    head = content[:256].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<"):
        return False
    declared = _ENCODING.match(head)
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
        for f in _fields(list(root.iter(*_FIELD_TAGS))):
            problem = _dangerous(f)
            if problem is None:
                continue
            found.append(ExternalReference(member, "field", problem))
            if "field" in strip:
                dirty = True
                if f.simple:
                    _unwrap(f.start)
                else:
                    drop.extend(f.region)
    for element in drop:
        _drop(element)
    return found, dirty or bool(drop)


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
