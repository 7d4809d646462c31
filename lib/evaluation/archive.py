"""Unpack an uploaded BEIR zip safely into the data dir (no path traversal, no zip bombs)."""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from lib.evaluation.beir import DatasetError, available_splits, check_folder

MAX_UNPACKED_BYTES = 2 * 1024**3  # 2 GB: more than any BEIR set a laptop should evaluate
MAX_RATIO = 200  # a member that claims to inflate more than this is a zip bomb
_WANTED = re.compile(r"^(corpus\.jsonl(\.gz)?|queries\.jsonl|qrels/[^/]+\.tsv)$")


def _safe_parts(name: str) -> tuple[str, ...]:
    """The member's path parts; refuse absolute paths, drive letters, `..` and backslashes."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise DatasetError(f"the zip has an unsafe path: {name!r}")
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        raise DatasetError(f"the zip has a path that leaves its folder: {name!r}")
    return tuple(p for p in parts if p != ".")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _find_root(members: dict[tuple[str, ...], zipfile.ZipInfo]) -> tuple[str, ...]:
    """The shallowest folder holding a corpus file (a zip of the folder or of its contents)."""
    roots = [p[:-1] for p in members if p and p[-1] in ("corpus.jsonl", "corpus.jsonl.gz")]
    roots = [r for r in roots if "__MACOSX" not in r]
    if not roots:
        raise DatasetError("the zip holds no corpus.jsonl or corpus.jsonl.gz")
    return min(roots, key=len)


def _checked_members(archive: zipfile.ZipFile) -> dict[tuple[str, ...], zipfile.ZipInfo]:
    members, total = {}, 0
    for info in archive.infolist():
        parts = _safe_parts(info.filename)
        if info.is_dir() or not parts:
            continue
        if _is_symlink(info):
            raise DatasetError(f"the zip holds a symbolic link: {info.filename!r}")
        total += info.file_size
        if total > MAX_UNPACKED_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1024):
            raise DatasetError("the zip unpacks to far more than it holds (refused as a zip bomb)")
        members[parts] = info
    return members


def datasets_dir(data_dir: Path) -> Path:
    """Where uploaded BEIR folders are unpacked (<data dir>/datasets/beir)."""
    return Path(data_dir) / "datasets" / "beir"


def dataset_name(label: str) -> str:
    """A folder-safe dataset name from an upload's file name."""
    stem = Path(label).name
    for suffix in (".zip",):
        stem = stem[: -len(suffix)] if stem.lower().endswith(suffix) else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-") or "uploaded"


def extract_beir_zip(data: bytes, datasets_dir: Path, name: str, split: str | None = None) -> Path:
    """Validate a BEIR zip and unpack only its BEIR files into `datasets_dir/name`.

    Args:
        data: the zip's bytes.
        datasets_dir: where datasets live (e.g. <data dir>/datasets/beir).
        name: the dataset's folder name (made safe with `dataset_name`).
        split: a qrels split that must be present (None: any one split).
    Returns:
        The folder, ready for `load_beir`. Raises DatasetError with a one-line reason.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DatasetError("the file is not a zip archive") from exc
    with archive:
        members = _checked_members(archive)
        root = _find_root(members)
        target = Path(datasets_dir) / dataset_name(name)
        Path(datasets_dir).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=datasets_dir, prefix=".upload-"))
        try:
            for parts, info in members.items():
                rel = "/".join(parts[len(root) :])
                if parts[: len(root)] != root or not _WANTED.match(rel):
                    continue  # only BEIR files are unpacked; anything else is ignored
                dest = staging.joinpath(*parts[len(root) :])
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
            splits = available_splits(staging)
            if split is None and not splits:
                raise DatasetError("the zip has no qrels/<split>.tsv file")
            check_folder(staging, split or splits[0], label="the zip")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target
