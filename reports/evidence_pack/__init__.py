"""The auditor's evidence pack (issue 5 item 1): `changetrail report evidence-pack --period 2026Q3`
writes a signed folder (pack.py), `changetrail verify <pack>` checks it (verify.py).

    build.py    context from one evaluation run      model.py  its typed dataclasses
    sample.py   the reproducible stratified sample   pages.py  one evidence page per sampled change
    signing.py  the Ed25519 key                      templates/evidence_pack/  the layout
"""
