"""Uploading files in the browser: any name, and only submit once every upload has landed."""

from __future__ import annotations

MIME = {"pdf": "application/pdf", "txt": "text/plain", "md": "text/markdown"}


def payload(name: str, data: bytes) -> dict:
    """A file for the uploader under any name (a path could not carry '../' or 300 characters)."""
    return {"name": name, "mimeType": MIME.get(name.rsplit(".", 1)[-1], "application/octet-stream"),
            "buffer": data}


def upload(page, files: list[tuple[str, bytes]], button: str = "Ingest") -> None:
    """Choose the files, wait until no chip still spins, then submit the form.

    Submitting while an upload is still on its way sends the form without it (seen on a
    loaded machine: "Choose one or more files first.").
    """
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [payload(n, d) for n, d in files])
    page.get_by_test_id("stFileChip").first.wait_for()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stFileChipIconSpinner\"]')", timeout=120_000)
    page.get_by_role("button", name=button).click()
