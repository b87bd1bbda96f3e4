"""Uploaded files (item files, project and exam definitions): checked by suffix and size, written
to a private temporary folder for the file readers, removed afterwards."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from ..domain.errors import ValidationFailed

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
MAX_UPLOAD_BYTES = 512 * 1024 * 1024


def uploaded_file(form: FormData, key: str) -> UploadFile | None:
    value = form.get(key)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def safe_name(filename: str | None) -> str:
    """The uploaded file's base name, reduced to characters any file system takes (no NUL, no
    separators, no unpaired surrogates), at most 100 characters, its suffix kept."""
    name = Path((filename or "upload").replace("\\", "/")).name
    stem, suffix = Path(name).stem, Path(name).suffix
    stem = re.sub(r"[^\w.\- ]", "_", stem, flags=re.ASCII).strip(" .") or "upload"
    suffix = re.sub(r"[^\w.]", "_", suffix, flags=re.ASCII)
    return stem[:100 - len(suffix)] + suffix


def save_upload(upload: UploadFile, allowed: tuple[str, ...]) -> Path:
    name = safe_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise ValidationFailed(f"{name}: unsupported file type {suffix or '(none)'}; use " + ", ".join(allowed),
                               loc="file")
    tmpdir = Path(tempfile.mkdtemp(prefix="expertloop-upload-"))
    path = tmpdir / name
    size = 0
    upload.file.seek(0)
    with path.open("wb") as fh:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                fh.close()
                cleanup(path)
                raise ValidationFailed(f"{name} is larger than {MAX_UPLOAD_BYTES >> 20} MB", loc="file")
            fh.write(chunk)
    return path


def cleanup(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
