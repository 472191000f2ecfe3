"""Render DOCX templates with Jinja placeholders (docxtpl) in a sandbox.

Templates are untrusted input. Before docxtpl opens one, the zip is checked
against the DOCX limits of :mod:`docarchive.limits` (member count, and the real
decompressed size of each member and of the whole). Rendering runs in an
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with autoescaping: a
template cannot reach Python internals, read files, import, or change the
caller's data, and data with ``<`` or ``&`` cannot corrupt the document XML.
The sandbox also refuses the one-line memory bombs (``'x' * 10**10``, huge
format widths and paddings, huge powers), and each rendered part is capped at
``docx_member_bytes`` characters. A template that loops on purpose can still
spend CPU: templates come from the office, not from the public.

A template's fields come from its own variables (body, headers and footers):
a field read only under ``is defined`` or through ``|default`` is optional,
every other one is required, and the attributes read from a required field
(``signatory.name``) are checked too. A missing one raises
:class:`~docarchive.errors.MissingFieldError` naming it, before rendering.

Images: any value of the form ``{"image": SOURCE, "width_mm": 40, "height_mm": 20}``
(sizes optional) becomes a picture, and a top-level ``logo`` given as a SOURCE
becomes one 22 mm high. Data never names a file on the server: a SOURCE that is a
string is the plain name of a file in one of the allowed folders (``image_dir``,
then ``image_dirs``; for an issued document the office's templates folder), with no
folder, no ``..``, no link leading out, and only a regular file (no device, FIFO);
anything else is refused with the same line as a missing file. A SOURCE may also be
the image's bytes (``bytes`` from Python, or ``{"data": BASE64, "media_type":
"image/png"}`` from JSON), or a :class:`~pathlib.Path` of the caller's own (the
office logo), which is trusted. Every image is checked against ``input_bytes``
(while it is read) and ``scan_pixels`` before use.

Links to anything outside the file (linked pictures, INCLUDETEXT and other such
fields, altChunk …) are refused, in the template and again in the rendered
document, which Jinja may have changed: see :mod:`docarchive.templates.external`.

A checked template is cached by path, modification time and size (or by
content), so rendering the same template again costs what bare docxtpl costs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import os
import re
import stat
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import DocArchiveError, LimitExceededError, MissingFieldError, TemplateError
from ..limits import Limits, check
from .external import check_external
from .filters import DEFAULT_DATE_FORMAT, filters

__all__ = [
    "ARCHIVE_FIELDS",
    "DEFAULT_DATE_FORMAT",
    "TemplateFields",
    "builtin_templates",
    "check_docx",
    "check_images",
    "docx_text",
    "environment",
    "render_docx",
    "template_fields",
]

#: The fields the archive gives every template (render and issue).
ARCHIVE_FIELDS = ("date", "ministry", "number", "office", "office_code")
_READ = 1024 * 1024
#: The longest string or list the sandbox lets ``*`` build, and the widest padding.
MAX_REPEAT = 1_000_000
MAX_WIDTH = 10_000
LOGO_HEIGHT_MM = 22
_IMAGE_KEYS = {"image", "width_mm", "height_mm"}
_CACHE_SIZE = 32
_CACHE_MAX_BYTES = 16 * 1024 * 1024


def builtin_templates() -> dict[str, Path]:
    """Kind → path of each template shipped with the package."""
    folder = resources.files("docarchive.templates") / "builtin"
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".docx")
    }


# -- the sandbox ------------------------------------------------------------------------------


class _CappedTemplate(jinja2.Template):
    """A template whose output stops at the environment's ``max_output`` characters."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        cap: int = getattr(self.environment, "max_output", 0)
        ctx = self.new_context(dict(*args, **kwargs))
        try:
            parts: list[str] = []
            size = 0
            for chunk in self.root_render_func(ctx):
                size += len(chunk)
                if cap and size > cap:
                    raise LimitExceededError("docx_member_bytes", size, cap)
                parts.append(chunk)
            return "".join(parts)
        except Exception:
            self.environment.handle_exception()


def _size(value: Any, depth: int = 0) -> int:
    """A rough size of a string or a (nested) list, for the repeat checks."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)) and depth < 3:
        return sum(_size(v, depth + 1) for v in value) or 1
    return 1


def _check_widths(fmt: str) -> None:
    if re.search(r"%[-#0 +]*(?:\d{5,}|\*)|%[-#0 +]*\d*\.\d{5,}", fmt) or re.search(
        r"\{[^{}]*:[^{}]*?\d{5,}", fmt
    ):
        raise SecurityError(f"refused: a format width over {MAX_WIDTH:,}")


_COMPILED: dict[tuple[str, str | None, str | None, bool], Any] = {}
_COMPILED_LOCK = threading.Lock()
_COMPILED_MAX = 256


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with the cheap memory bombs refused and the output capped."""

    intercepted_binops = frozenset({"*", "**", "%"})
    template_class = _CappedTemplate
    max_output = 0

    def compile(
        self,
        source: str | Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        """Jinja's compile, kept for sources seen before: docxtpl hands every part of a
        template over as a fresh source on every render, and compiling it again is a third
        of a render. Code objects are immutable, so renders in any thread share them."""
        if raw:
            return super().compile(source, name, filename, True, defer_init)
        if not isinstance(source, str):
            return super().compile(source, name, filename, False, defer_init)
        key = (source, name, filename, defer_init)
        code = _COMPILED.get(key)
        if code is None:
            code = super().compile(source, name, filename, False, defer_init)
            with _COMPILED_LOCK:
                while len(_COMPILED) >= _COMPILED_MAX:
                    _COMPILED.pop(next(iter(_COMPILED)))
                _COMPILED[key] = code
        return code

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and _size(seq) * max(times, 0) > MAX_REPEAT:
                    raise SecurityError(f"refused: a sequence over {MAX_REPEAT:,} long")
        elif operator == "**":
            big = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
            if big and right * math.log2(abs(left)) > 4096:
                raise SecurityError("refused: a power over 4096 bits")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str):
            _check_widths(owner)
        return super().wrap_str_format(value)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(obj, "__self__", None), str) and getattr(obj, "__name__", "") in {
            "center",
            "ljust",
            "rjust",
            "zfill",
            "expandtabs",
        }:
            _check_ints(args, kwargs)
        return super().call(context, obj, *args, **kwargs)


def _check_ints(args: Any, kwargs: Mapping[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and arg > MAX_WIDTH:
            raise SecurityError(f"refused: a width over {MAX_WIDTH:,}")


def _bounded(func: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter whose width arguments are capped (center, indent, wordwrap)."""

    @wraps(func)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_ints(args, kwargs)
        return func(value, *args, **kwargs)

    return wrapper


def _format_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_widths(str(value))
        return func(value, *args, **kwargs)

    return wrapper


@lru_cache(maxsize=16)
def environment(
    date_format: str = DEFAULT_DATE_FORMAT, max_output: int = 64 * 1024 * 1024
) -> jinja2.Environment:
    """The Jinja environment every template renders in: sandboxed, autoescaped, strict."""
    env = _Sandbox(autoescape=True, undefined=jinja2.StrictUndefined)
    env.max_output = max_output
    for name in ("center", "indent", "wordwrap"):
        env.filters[name] = _bounded(env.filters[name])
    env.filters["format"] = _format_filter(env.filters["format"])
    env.filters.update(filters(date_format))
    return env


# -- checking the zip -------------------------------------------------------------------------


def check_docx(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a non-zip, a broken zip, or one over the DOCX limits, naming the reason."""
    check_size(len(data), name, limits)
    if not data.startswith(b"PK"):
        raise TemplateError(f"{name}: not a .docx file (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            check(limits, "docx_members", len(members))
            if "word/document.xml" not in zf.namelist():
                raise TemplateError(f"{name}: not a .docx file (no word/document.xml)")
            total = 0
            for info in members:
                size = 0
                with zf.open(info) as fh:
                    while chunk := fh.read(_READ):
                        size += len(chunk)
                        total += len(chunk)
                        check(limits, "docx_member_bytes", size)
                        check(limits, "docx_total_bytes", total)
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: refused: {exc}") from exc
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise TemplateError(f"{name}: broken .docx file: {exc}") from exc


def check_size(size: int, name: str, limits: Limits) -> None:
    try:
        check(limits, "input_bytes", size)
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: refused: {exc}") from exc


# -- fields -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateFields:
    """The fields a template reads: required, optional, and attributes of required ones."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @property
    def needs(self) -> tuple[str, ...]:
        """The required fields, each spelt out to the attributes read from it."""
        spelt = {p.split(".", 1)[0] for p in self.paths}
        return tuple(sorted({*(f for f in self.required if f not in spelt), *self.paths}))

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "required": list(self.required),
            "optional": list(self.optional),
            "paths": list(self.paths),
        }


def _defined_tests(test: nodes.Node, negative: bool = False) -> set[str]:
    """Names (or dotted paths) a test proves defined when true (``negative``: when false)."""
    if isinstance(test, nodes.Test) and test.name == ("undefined" if negative else "defined"):
        found = _chain(test.node)
        if found:
            return {".".join([found[0], *found[1]])}
    if isinstance(test, nodes.Not):
        return _defined_tests(test.node, not negative)
    if isinstance(test, nodes.And if not negative else nodes.Or):
        return _defined_tests(test.left, negative) | _defined_tests(test.right, negative)
    return set()


def _chain(node: nodes.Node) -> tuple[str, list[str]] | None:
    """``a.b['c']`` → ("a", ["b", "c"]); None when the chain does not start at a name."""
    attrs: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            attrs.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            attrs.append(node.arg.value)
            node = node.node
        elif isinstance(node, (nodes.Getitem, nodes.Getattr)):
            node = node.node
            attrs.clear()
        else:
            break
    if isinstance(node, nodes.Name):
        return node.name, attrs[::-1]
    return None


class _FieldWalker:
    def __init__(self, undeclared: set[str]) -> None:
        self.undeclared = undeclared
        self.unguarded: set[str] = set()
        self.paths: set[str] = set()

    def walk(self, node: nodes.Node, guarded: frozenset[str], *, soft: bool = False) -> None:
        if isinstance(node, nodes.Name):
            loaded = node.ctx == "load" and node.name in self.undeclared
            if loaded and node.name not in guarded and not soft:
                self.unguarded.add(node.name)
            return
        if (isinstance(node, nodes.Filter) and node.name in ("default", "d")) or (
            isinstance(node, nodes.Test) and node.name in ("defined", "undefined")
        ):
            # the value itself may be missing; what it is read from may not
            target = node.node
            if isinstance(target, nodes.Name):
                self.walk(target, guarded, soft=True)
            elif isinstance(target, (nodes.Getattr, nodes.Getitem)):
                self.walk(target.node, guarded)
                if isinstance(target, nodes.Getitem):
                    self.walk(target.arg, guarded)
            elif target is not None:
                self.walk(target, guarded)
            for child in (*node.args, *node.kwargs):
                self.walk(child, guarded)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            self._path(node, guarded, soft)
        if isinstance(node, nodes.Call) and isinstance(node.node, (nodes.Getattr, nodes.Getitem)):
            self.walk(node.node.node, guarded, soft=soft)  # a method call: not a field path
            for child in (*node.args, *node.kwargs):
                self.walk(child, guarded)
            for extra in (node.dyn_args, node.dyn_kwargs):
                if extra is not None:
                    self.walk(extra, guarded)
            return
        if isinstance(node, (nodes.If, nodes.CondExpr)):
            self._branch(node, guarded)
            return
        if isinstance(node, nodes.And):
            self.walk(node.left, guarded)
            self.walk(node.right, guarded | _defined_tests(node.left))
            return
        if isinstance(node, nodes.Or):
            self.walk(node.left, guarded)
            self.walk(node.right, guarded | _defined_tests(node.left, negative=True))
            return
        for child in node.iter_child_nodes():
            self.walk(child, guarded, soft=False)

    def _path(self, node: nodes.Node, guarded: frozenset[str], soft: bool) -> None:
        found = _chain(node)
        if found and found[1] and found[0] in self.undeclared and found[0] not in guarded:
            parts = [found[0], *found[1]]
            prefixes = {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
            if not soft and not prefixes & guarded:
                self.paths.add(".".join(parts))

    def _branch(self, node: nodes.If | nodes.CondExpr, guarded: frozenset[str]) -> None:
        yes = guarded | _defined_tests(node.test)
        no = guarded | _defined_tests(node.test, negative=True)
        self.walk(node.test, yes)
        if isinstance(node, nodes.CondExpr):
            self.walk(node.expr1, yes)
            if node.expr2 is not None:
                self.walk(node.expr2, no)
            return
        for child in node.body:
            self.walk(child, yes)
        for elif_ in node.elif_:
            self._branch(elif_, no)
            no = no | _defined_tests(elif_.test, negative=True)
        for child in node.else_:
            self.walk(child, no)


def _analyse(asts: list[nodes.Template]) -> TemplateFields:
    undeclared: set[str] = set()
    for ast in asts:
        undeclared |= meta.find_undeclared_variables(ast)
    walker = _FieldWalker(undeclared)
    for ast in asts:
        walker.walk(ast, frozenset())
    required = walker.unguarded
    optional = undeclared - required
    paths = {p for p in walker.paths if p.split(".", 1)[0] in required}
    # "a.b" is implied by "a.b.c"
    paths = {p for p in paths if not any(q.startswith(p + ".") for q in paths)}
    return TemplateFields(tuple(sorted(required)), tuple(sorted(optional)), tuple(sorted(paths)))


def _parts_xml(tpl: Any) -> Iterator[str]:
    """The patched XML of the body, the headers and the footers, as docxtpl renders them."""
    tpl.init_docx()
    yield tpl.patch_xml(tpl.get_xml())
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _key, part in tpl.get_headers_footers(uri):
            yield tpl.patch_xml(tpl.get_part_xml(part))


# -- preparing and caching a template ---------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    data: bytes
    fields: TemplateFields


_cache: OrderedDict[tuple[Any, ...], _Prepared] = OrderedDict()
_cache_lock = threading.Lock()


def _load(template: Path | bytes, name: str, limits: Limits) -> _Prepared:
    if isinstance(template, bytes):
        key: tuple[Any, ...] = ("bytes", hashlib.sha256(template).hexdigest(), limits)
        data: bytes | None = template
    else:
        try:
            st = template.stat()
        except OSError as exc:
            raise TemplateError(f"{template}: cannot read the template: {exc.strerror}") from exc
        key = ("path", str(template.resolve()), st.st_mtime_ns, st.st_size, limits)
        data = None
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    if data is None:
        assert isinstance(template, Path)
        check_size(template.stat().st_size, name, limits)
        try:
            data = template.read_bytes()
        except OSError as exc:
            raise TemplateError(f"{template}: cannot read the template: {exc.strerror}") from exc
    prepared = _prepare(data, name, limits)
    if len(data) <= _CACHE_MAX_BYTES:
        with _cache_lock:
            _cache[key] = prepared
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return prepared


def _prepare(data: bytes, name: str, limits: Limits) -> _Prepared:
    from docxtpl import DocxTemplate

    check_docx(data, name, limits)
    data = check_external(data, name)
    env = environment()
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        asts = [env.parse(xml) for xml in _parts_xml(tpl)]
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{name}: template syntax error: {exc.message}") from exc
    except Exception as exc:  # python-docx and lxml raise many kinds on broken files
        raise TemplateError(f"{name}: cannot read the template: {exc}") from exc
    return _Prepared(data, _analyse(asts))


def _name(template: Path | bytes, name: str | None) -> str:
    if name:
        return name
    return template.name if isinstance(template, Path) else "template.docx"


def template_fields(
    template: Path | bytes, limits: Limits | None = None, *, name: str | None = None
) -> TemplateFields:
    """The fields ``template`` reads (checking the template on the way)."""
    return _load(template, _name(template, name), limits or Limits()).fields


def _check_fields(fields: TemplateFields, context: Mapping[str, Any], name: str) -> None:
    missing = sorted(set(fields.required) - set(context))
    if missing:
        raise MissingFieldError(missing[0], name)
    for path in fields.paths:
        root, *attrs = path.split(".")
        value = context[root]
        for i, attr in enumerate(attrs):
            if not isinstance(value, Mapping):
                break
            if attr not in value:
                raise MissingFieldError(".".join([root, *attrs[: i + 1]]), name)
            value = value[attr]


# -- images -----------------------------------------------------------------------------------

#: The media types an image given as bytes may declare (what Word can show).
IMAGE_MEDIA_TYPES = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/gif": "image/gif",
    "image/bmp": "image/bmp",
    "image/tiff": "image/tiff",
}
_BYTES_KEYS = {"data", "media_type"}
_NAMED = "an image must be the name of a file in the templates folder, or its bytes"


@dataclass(frozen=True)
class _Source:
    """Where images named in data may be found, and what to call them in errors."""

    folders: tuple[Path, ...]
    limits: Limits
    base: Path | None = None  # what a relative Path of the caller's is relative to


def _plain_name(source: str) -> bool:
    """A plain file name: no folder, no parent, nothing hidden, nothing odd."""
    return (
        bool(source)
        and len(source) <= 255
        and not source.startswith(".")
        and not any(c in source for c in "/\\:\x00")
        and source == source.strip()
        and os.path.basename(source) == source
    )


def _read_regular(path: str, limit: int, *, follow: bool = False) -> bytes:
    """The bytes of ``path`` if it is a regular file (no device, FIFO or socket), read
    under ``limit`` bytes; OSError otherwise. A last link is followed only if ``follow``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: not a regular file")
        if st.st_size > limit:
            raise LimitExceededError("input_bytes", st.st_size, limit)
        chunks: list[bytes] = []
        size = 0
        # never more than the limit and one byte, whatever stat said (a file still growing)
        while chunk := fh.read(min(_READ, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                raise LimitExceededError("input_bytes", size, limit)
            chunks.append(chunk)
        return b"".join(chunks)


def _named_image(source: str, where: str, name: str, found: _Source) -> bytes:
    """The bytes of the image called ``source`` in one of the allowed folders.

    Missing and forbidden get the same answer, which does not say whether a file exists.
    """
    refused = TemplateError(f"{name}: {where}: {_NAMED}")
    if not _plain_name(source):
        raise refused
    for folder in found.folders:
        try:
            root = os.path.realpath(folder, strict=True)
            real = os.path.realpath(os.path.join(root, source), strict=True)
        except (OSError, ValueError):
            continue
        if os.path.commonpath([root, real]) != root or real == root:
            continue  # a link leading out of the folder
        try:
            return _read_regular(real, found.limits.input_bytes)
        except LimitExceededError as exc:
            raise TemplateError(f"{name}: {where}: refused: {exc}") from exc
        except OSError:
            continue
    raise refused


def _bytes_image(source: Mapping[str, Any], where: str, name: str, limits: Limits) -> bytes:
    """The bytes of ``{"data": BASE64, "media_type": "image/png"}``, size checked first."""
    data, media_type = source.get("data"), source.get("media_type")
    if not set(source) <= _BYTES_KEYS or not isinstance(data, str):
        raise TemplateError(
            f'{name}: {where}: image bytes must be {{"data": BASE64, "media_type": "image/png"}}'
        )
    if not isinstance(media_type, str) or media_type.lower() not in IMAGE_MEDIA_TYPES:
        known = ", ".join(sorted(set(IMAGE_MEDIA_TYPES.values())))
        raise TemplateError(f"{name}: {where}: media_type must be one of {known}")
    compact = re.sub(r"\s+", "", data)
    try:
        check(limits, "input_bytes", len(compact) // 4 * 3)
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: {where}: refused: {exc}") from exc
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TemplateError(f"{name}: {where}: the image data is not valid base64") from exc


def _image_blob(source: Any, where: str, name: str, found: _Source) -> tuple[bytes, str | None]:
    """The bytes of an image and the media type its data declared (if any)."""
    limits = found.limits
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if isinstance(source, Mapping):
        media_type = source.get("media_type")
        blob = _bytes_image(source, where, name, limits)
        return blob, IMAGE_MEDIA_TYPES[str(media_type).lower()]
    if isinstance(source, str):  # from data: only a name in an allowed folder
        return _named_image(source, where, name, found), None
    if isinstance(source, os.PathLike):  # the caller's own Path (the office logo): trusted
        path = Path(source)
        if not path.is_absolute() and found.base is not None:
            path = found.base / path
        try:
            return _read_regular(str(path), limits.input_bytes, follow=True), None
        except LimitExceededError as exc:
            raise TemplateError(f"{name}: {where}: refused: {exc}") from exc
        except OSError as exc:
            raise TemplateError(f"{name}: {where}: cannot read {source}") from exc
    raise TemplateError(f"{name}: {where}: {_NAMED}")


def _image(tpl: Any, spec: Any, where: str, name: str, found: _Source) -> Any:
    """The docxtpl InlineImage of an image spec (None when only checking: ``tpl=None``)."""
    from docx.image.exceptions import UnrecognizedImageError
    from docx.image.image import Image
    from docx.shared import Mm
    from docxtpl import InlineImage

    limits = found.limits
    if _is_image_spec(spec):
        source, width, height = spec["image"], spec.get("width_mm"), spec.get("height_mm")
    else:
        source, width, height = spec, None, LOGO_HEIGHT_MM
    blob, declared = _image_blob(source, where, name, found)
    check_size(len(blob), f"{name}: {where}", limits)
    try:
        image = Image.from_blob(blob)
    except (UnrecognizedImageError, ValueError, IndexError, OSError, KeyError) as exc:
        raise TemplateError(
            f"{name}: {where}: not an image Word can show (PNG, JPEG, GIF, BMP, TIFF)"
        ) from exc
    if declared is not None and image.content_type != declared:
        raise TemplateError(
            f"{name}: {where}: media_type is {declared} but the data is {image.content_type}"
        )
    try:
        check(limits, "scan_pixels", image.px_width * image.px_height)
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: {where}: refused: {exc}") from exc
    sizes = {}
    for key, value in (("width", width), ("height", height)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise TemplateError(f"{name}: {where}: {key}_mm must be a positive number")
            sizes[key] = Mm(value)
    if tpl is None:
        return None
    return InlineImage(tpl, io.BytesIO(blob), **sizes)


def _is_image_spec(value: Any) -> bool:
    return isinstance(value, Mapping) and "image" in value and set(value) <= _IMAGE_KEYS


def _is_image_bytes(value: Any) -> bool:
    return isinstance(value, Mapping) and "data" in value and set(value) <= _BYTES_KEYS


def _with_images(value: Any, tpl: Any, where: str, name: str, found: _Source) -> Any:
    """``value`` with each image spec replaced by a docxtpl InlineImage (copies only if any)."""
    if _is_image_spec(value):
        return _image(tpl, value, where, name, found)
    if isinstance(value, Mapping):
        new = {k: _with_images(v, tpl, f"{where}.{k}", name, found) for k, v in value.items()}
        return value if all(new[k] is value[k] for k in new) else new
    if isinstance(value, (list, tuple)):
        items = [_with_images(v, tpl, f"{where}[{i}]", name, found) for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _context(context: Mapping[str, Any], tpl: Any, name: str, found: _Source) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in context.items():
        logo = isinstance(value, (str, bytes, bytearray, os.PathLike)) or _is_image_bytes(value)
        if key == "logo" and logo:
            out[key] = _image(tpl, value, key, name, found) if value else ""
        else:
            out[key] = _with_images(value, tpl, key, name, found)
    return out


def _folders(image_dir: Path | None, image_dirs: Sequence[Path]) -> tuple[Path, ...]:
    return tuple(
        Path(d) for d in ((image_dir,) if image_dir is not None else ()) + tuple(image_dirs)
    )


def check_images(
    context: Mapping[str, Any],
    limits: Limits,
    *,
    name: str = "template.docx",
    image_dir: Path | None = None,
    image_dirs: Sequence[Path] = (),
) -> None:
    """Refuse, as :func:`render_docx` would, any image of ``context`` that cannot be used.

    Run before a number is reserved, so that a refused image costs no number.
    """
    _context(context, None, name, _Source(_folders(image_dir, image_dirs), limits, image_dir))


# -- rendering --------------------------------------------------------------------------------

_UNDEFINED = re.compile(r"has no attribute '([^']+)'|^'([^']+)' is undefined")


def render_docx(
    template: Path | bytes,
    context: Mapping[str, Any],
    limits: Limits,
    *,
    name: str | None = None,
    date_format: str = DEFAULT_DATE_FORMAT,
    image_dir: Path | None = None,
    image_dirs: Sequence[Path] = (),
) -> bytes:
    """Render ``template`` (a path, or the bytes of a .docx) with ``context``; the .docx bytes.

    An image named in the context by a string is looked up, by its plain file name only,
    in ``image_dir`` and then in ``image_dirs``; a :class:`~pathlib.Path` is the caller's
    own and is read as it is (relative to ``image_dir``).
    """
    from docxtpl import DocxTemplate

    name = _name(template, name)
    prepared = _load(template, name, limits)
    _check_fields(prepared.fields, context, name)
    env = environment(date_format, limits.docx_member_bytes)
    tpl = DocxTemplate(io.BytesIO(prepared.data))
    data = _context(context, tpl, name, _Source(_folders(image_dir, image_dirs), limits, image_dir))
    out = io.BytesIO()
    try:
        tpl.render(data, jinja_env=env)
        tpl.save(out)
    except SecurityError as exc:
        raise TemplateError(f"{name}: refused by the template sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        found = _UNDEFINED.search(exc.message or "")
        if found:
            raise MissingFieldError(found.group(1) or found.group(2), name) from exc
        raise TemplateError(f"{name}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: cannot render: {exc}") from exc
    except LimitExceededError as exc:
        raise TemplateError(f"{name}: refused: {exc}") from exc
    except DocArchiveError as exc:  # a filter refused a value
        raise TemplateError(f"{name}: {exc}") from exc
    except Exception as exc:  # docxtpl, python-docx and lxml raise many kinds
        raise TemplateError(f"{name}: cannot render: {type(exc).__name__}: {exc}") from exc
    return check_external(out.getvalue(), name, rendered=True)


def docx_text(data: bytes) -> str:
    """The text of a .docx: paragraphs, then table cells, in document order per part."""
    from docx import Document

    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs if p.text.strip()]
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    return "\n".join(lines)
