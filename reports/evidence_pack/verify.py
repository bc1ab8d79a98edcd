"""`changetrail verify <pack>`: is this evidence pack exactly what changetrail wrote and signed?

Checks, each problem named in words: manifest.json parses and its Ed25519 signature verifies
with the public key it carries; every file it lists exists with the listed SHA-256 and size; no
file is in the folder that it does not list; the PDF's embedded attachments are exactly the
listed attachments, byte for byte. The public key's fingerprint is printed in the manifest and
the PDF: an auditor compares it with the one the organization published to them.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from reports.evidence_pack.pack import FORMAT, MANIFEST, canonical, sha256_file
from reports.evidence_pack.signing import fingerprint, verify_signature


def verify_pack(path: Path) -> list[str]:
    """Problems found in the pack at `path` (its folder or its manifest.json); empty = verified."""
    path = Path(path)
    folder = path.parent if path.name == MANIFEST else path
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return [f"{manifest_path}: no manifest.json (is {folder} an evidence pack?)"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        signature = manifest.pop("signature")
        files = manifest["files"]
        if not all(isinstance(entry, dict) for entry in files):
            raise TypeError("every entry of `files` must be an object")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"{manifest_path}: not a readable evidence-pack manifest ({type(exc).__name__}: {exc})"]
    problems: list[str] = []
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        problems.append(f"{MANIFEST}: no Ed25519 signature")
    else:
        if not verify_signature(str(signature.get("public_key", "")), str(signature.get("value", "")),
                                canonical(manifest)):
            problems.append(f"{MANIFEST}: signature does not verify — the manifest was altered after signing")
        try:
            import base64
            if fingerprint(base64.b64decode(signature["public_key"])) != signature.get("fingerprint"):
                problems.append(f"{MANIFEST}: the public key does not match its fingerprint")
        except Exception:  # noqa: BLE001
            problems.append(f"{MANIFEST}: the public key is not valid base64")
    listed: dict[str, dict] = {}
    for entry in files:
        name = str(entry.get("path", ""))
        if not name or Path(name).name != name:
            problems.append(f"{MANIFEST}: file entry {name!r} is not a plain file name")
            continue
        listed[name] = entry
        target = folder / name
        if not target.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(target) != entry.get("sha256"):
            problems.append(f"{name}: altered (SHA-256 differs from the manifest)")
        elif target.stat().st_size != entry.get("bytes"):
            problems.append(f"{name}: altered (size differs from the manifest)")
    for extra in sorted(p.name for p in folder.iterdir() if p.name != MANIFEST and p.name not in listed):
        problems.append(f"{extra}: extra file, not in the manifest")
    pdf = manifest.get("pdf")
    if pdf and (folder / pdf).is_file():
        problems.extend(_check_embedded(folder / pdf, folder, [n for n, e in listed.items() if e.get("embedded_in_pdf")]))
    return problems


def _check_embedded(pdf: Path, folder: Path, expected: list[str]) -> list[str]:
    from pypdf import PdfReader

    try:
        embedded = PdfReader(str(pdf)).attachments
    except Exception as exc:  # noqa: BLE001 - a damaged PDF is a finding, not a crash
        return [f"{pdf.name}: cannot read its embedded attachments ({type(exc).__name__}: {exc})"]
    problems = []
    for name in expected:
        contents = embedded.get(name)
        if not contents:
            problems.append(f"{pdf.name}: attachment {name} is not embedded")
        elif not (folder / name).is_file():
            continue                                   # already reported as missing
        elif hashlib.sha256(contents[0]).hexdigest() != sha256_file(folder / name):
            problems.append(f"{pdf.name}: embedded {name} differs from the file {name}")
    for name in sorted(set(embedded) - set(expected)):
        problems.append(f"{pdf.name}: embeds {name}, which the manifest does not list")
    return problems
