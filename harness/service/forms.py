"""HTML form bodies, read without python-multipart: url-encoded fields and one uploaded file.

The pages post plain forms (no JavaScript). A url-encoded body is small and parsed with
:func:`urllib.parse.parse_qs`; a ``multipart/form-data`` body (the upload form) is read whole,
under the service's archive cap plus a little for the other fields, and split on its boundary.
Anything malformed is an :class:`UploadRefused` with one line, as a bad API upload is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from harness.service.uploads import UploadRefused

FIELDS_BYTES = 64 * 1024  # a url-encoded form: a token, a few ids, a reason
SLACK_BYTES = 16 * 1024  # a multipart body: the file plus headers and the CSRF field
BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


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


def parse_urlencoded(body: bytes) -> Form:
    """A url-encoded form body (refused past :data:`FIELDS_BYTES`)."""
    if len(body) > FIELDS_BYTES:
        raise UploadRefused("the form is too large", 413)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise UploadRefused("the form could not be read; send it from the page") from None
    return Form(fields=fields)


def parse_multipart(body: bytes, content_type: str) -> Form:
    """A ``multipart/form-data`` body: its text fields and its one file field ``file``."""
    match = BOUNDARY.search(content_type)
    if not match:
        raise UploadRefused("the upload form has no boundary; send it from the page")
    delimiter = b"--" + match.group(1).encode("latin-1")
    form = Form()
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise UploadRefused("the upload form is malformed; send it from the page")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disposition = line
        names = dict(DISPOSITION.findall(disposition))
        name = names.get("name", "")
        if "filename" in names:
            if name != "file" or form.file_name:
                raise UploadRefused("send one file, in the form's file field")
            form.file_name = names["filename"] or "upload"
            form.file_bytes = content
        elif name:
            form.fields.setdefault(name, []).append(content.decode("utf-8", "replace"))
    return form
