"""HTML form bodies: url-encoded fields and one uploaded file, parsed by Starlette.

The pages post plain forms (no JavaScript). The body is read under a cap first (the service's
archive cap plus a little for the other fields), so an oversized upload is refused before any
parsing; then Starlette's form parser (python-multipart) reads the cached body with limits on
fields and files. Anything malformed is an :class:`UploadRefused` with one line, as a bad API
upload is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.requests import Request

from harness.service.uploads import UploadRefused

SLACK_BYTES = 16 * 1024  # a multipart body: the file plus headers and the CSRF field
MAX_FIELDS = 50  # a token, a CSRF secret, a few ids, a reason
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class Form:
    """The fields of a posted form (each name's values) and its uploaded file, if any."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file_name: str = ""
    file_bytes: bytes = b""

    def one(self, name: str) -> str:
        """The field's first value, or '' when it was not sent."""
        values = self.fields.get(name)
        return values[0] if values else ""


async def read_form(request: Request, *, limit: int, too_large: str) -> Form:
    """The posted form of ``request``, its body at most ``limit`` bytes (else 413 with
    ``too_large``): text fields, and the one file of the field ``file``."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise UploadRefused(too_large, 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadRefused(too_large, 413)
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    cached = Request(request.scope, receive=replay)  # the body read once, parsed from memory
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise UploadRefused("the form could not be read; send it from the page", 415)
    try:
        async with cached.form(
            max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
        ) as data:
            form = Form()
            for name, value in data.multi_items():
                if isinstance(value, UploadFile):
                    if name != "file" or form.file_name:
                        raise UploadRefused("send one file, in the form's file field")
                    form.file_name = value.filename or "upload"
                    form.file_bytes = await value.read()
                else:
                    form.fields.setdefault(name, []).append(value)
            return form
    except UploadRefused:
        raise
    except Exception as exc:  # Starlette's MultiPartException, a bad encoding
        raise UploadRefused(f"the form could not be read ({exc}); send it from the page") from None
