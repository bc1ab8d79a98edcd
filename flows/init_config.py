"""`changetrail init`: a commented changetrail.toml with every section and the SOC2-CHG-001 defaults.

Generated from the pydantic models of `flows/config.py` (their defaults, docstrings and field
descriptions), so the file never drifts from what the code accepts. `tomllib` only reads, hence
the small emitter below: scalars, lists of scalars and tables — all the config needs. Sources
are written as commented examples: uncomment the ones you have.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from flows.config import Config

HEADER = """\
# changetrail.toml — what changetrail reads, where the warehouse lives, and the policy it checks.
# Written by `changetrail init` with the defaults of SOC2-CHG-001; every key is optional unless
# marked. Credentials are never stored here: each source names the environment variable holding
# its token. Relative paths are relative to this file. Check the sources with `changetrail doctor`.
"""

# values for required fields in the commented source examples
PLACEHOLDERS = {
    ("GitHubSource", "org"): "acme",
    ("ServiceNowSource", "base_url"): "https://acme.service-now.com",
    ("JiraSource", "base_url"): "https://acme.atlassian.net",
}
PATH_PLACEHOLDERS = {"SarifSource": "evidence/sarif", "PeopleSource": "evidence/people.csv",
                     "ScannersSource": "evidence/scanners", "DeployLogSource": "evidence/deployments.jsonl",
                     "K8sAuditSource": "evidence/k8s-audit", "CloudTrailSource": "evidence/cloudtrail"}
SECTION_NOTES = {
    ("sources",): "Where the evidence comes from: uncomment the sources you have (each one's\n"
                  "freshness_hours is EV-01's limit; a configured source never extracted is stale).",
    ("policy", "categories"): "§1: category recognition per ticket system.",
}
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigExists(FileExistsError):
    pass


def render_config(config: Config | None = None) -> str:
    """The commented TOML text of `config` (default: every default)."""
    lines = [HEADER]
    _emit_model(lines, config or Config(), (), commented=False)
    return "\n".join(lines).rstrip() + "\n"


def write_config(path: Path | str, force: bool = False) -> Path:
    """Write the default config to `path`; refuses to overwrite an existing file unless `force`."""
    path = Path(path)
    if path.exists() and not force:
        raise ConfigExists(f"{path} already exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(), encoding="utf-8")
    return path


# -- emitter --------------------------------------------------------------------------------------
def _key(name: str) -> str:
    return name if BARE_KEY.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, BaseModel):   # a table entry that is a model (policy.category_rules): inline table
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.model_dump().items()) + " }"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def _comment(lines: list[str], text: str | None) -> None:
    for line in (text or "").strip().splitlines():
        lines.append(f"# {line.strip()}" if line.strip() else "#")


def _defaults(cls: type[BaseModel]) -> dict[str, Any]:
    """A model's field values for a commented example: defaults, placeholders for required fields."""
    values = {}
    for name, field in cls.model_fields.items():
        if field.is_required():
            values[name] = PLACEHOLDERS.get((cls.__name__, name)) or PATH_PLACEHOLDERS.get(cls.__name__, f"<{name}>")
        else:
            values[name] = field.get_default(call_default_factory=True)
    return values


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The model class of `Model` or `Model | None`."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _emit_model(lines: list[str], model: BaseModel | type[BaseModel], path: tuple[str, ...], commented: bool) -> None:
    cls = model if isinstance(model, type) else type(model)
    values = _defaults(cls) if isinstance(model, type) else {n: getattr(model, n) for n in cls.model_fields}
    mark = "# " if commented else ""
    if path:
        lines.append("")
        _comment(lines, SECTION_NOTES.get(path) or (cls.__doc__ if cls.__doc__ != BaseModel.__doc__ else None))
        lines.append(f"{mark}[{'.'.join(_key(p) for p in path)}]")
    tables, models = [], []
    for name, field in cls.model_fields.items():
        value = values[name]
        sub = _model_class(field.annotation)
        if isinstance(value, BaseModel) or (value is None and sub is not None):
            models.append((name, value if value is not None else sub, value is None))
        elif isinstance(value, dict):
            tables.append((name, field, value))
        else:
            _comment(lines, field.description)
            if value is None:
                lines.append(f"# {_key(name)} = ...   (not set)")
            else:
                required = " # required" if field.is_required() else ""
                lines.append(f"{mark}{_key(name)} = {_value(value)}{required}")
    for name, field, value in tables:
        lines.append("")
        _comment(lines, field.description)
        lines.append(f"{mark}[{'.'.join(_key(p) for p in (*path, name))}]")
        if not value:
            lines.append("# \"<key>\" = ...   (empty by default)")
        for key, item in value.items():
            lines.append(f"{mark}{_key(str(key))} = {_value(item)}")
    for name, value, is_example in models:
        _emit_model(lines, value, (*path, name), commented or is_example)
