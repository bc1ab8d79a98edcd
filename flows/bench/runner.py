"""`changetrail bench`: generate a profile's organization once (cached), then time every stage.

Stages, each in a fresh process (flows/bench/stage.py): extract (one per configured source, from
the served API folders), load, floor (DuckDB alone reading the same landed files), reconcile,
report (one per reports/registry.py entry). Each prints one JSON line; the runner adds the
stage's ratio to the floor's wall time and ends with a summary line. A replicated profile (XL)
times load, floor and reconcile on its base profile's landing written n times (`replicate` line).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from flows.bench.profiles import Profile, get_profile

PERIOD = "2026Q3"
DEFAULT_MEMORY_LIMIT = "3GB"   # [warehouse] memory_limit of the benchmark's runs (issue 7: peak <= 4 GB at L)


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "changetrail" / "bench"


@dataclass(frozen=True)
class Workspace:
    org_dir: Path           # generated organization (cached): sample/, changetrail.toml
    run_dir: Path           # this run's warehouse, landing files and reports (fresh each run)

    @property
    def config_path(self) -> Path:
        return self.run_dir / "changetrail.toml"


def machine() -> dict:
    """nproc, memory and CPU model of this machine, plus the load average when measured."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"nproc": os.cpu_count(), "memory_gb": memory_gb, "cpu": model,
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": sys.version.split()[0]}


def prepare(profile: Profile, seed: int, cache_root: Path, reuse_run: bool = False,
            memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> tuple[Workspace, dict]:
    """The cached organization (generated when missing) and a fresh run folder beside it
    (`reuse_run`: the previous run's folder as it is, to time some stages again)."""
    org_dir, line = generated_org(profile, seed, cache_root)
    run_dir = org_dir / "run"
    if reuse_run:
        if not (run_dir / "changetrail.toml").exists():
            raise ValueError(f"{run_dir}: no previous run to reuse; run the whole benchmark once first")
        return Workspace(org_dir, run_dir), line
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    write_run_config(org_dir / "changetrail.toml", run_dir, memory_limit)
    return Workspace(org_dir, run_dir), line


def generated_org(profile: Profile, seed: int, cache_root: Path) -> tuple[Path, dict]:
    """The profile's organization folder, generated once per seed, and its `generate` line."""
    from flows.demo import generate

    org_dir = cache_root / f"{profile.name}-{seed}"
    marker = org_dir / "generated.json"
    if marker.exists():
        info = json.loads(marker.read_text(encoding="utf-8"))
        line = {"stage": "generate", "cached": True, **info}
    else:
        started = time.perf_counter()
        org = generate(org_dir, seed=seed, period=PERIOD, scale=profile.scale)
        info = {"changes": org.count_changes, "pull_requests": org.count_pull_requests,
                "deployments": org.count_deployments, "files": org.count_files, "bytes": org.count_bytes,
                "scale": profile.scale, "seed": seed}
        marker.write_text(json.dumps(info), encoding="utf-8")
        line = {"stage": "generate", "cached": False, "wall_s": round(time.perf_counter() - started, 3), **info}
    return org_dir, line


def prepare_replicated(profile: Profile, seed: int, cache_root: Path, reuse_run: bool = False,
                       memory_limit: str | None = DEFAULT_MEMORY_LIMIT) -> tuple[Workspace, list[dict]]:
    """A replicated profile (XL): the base profile's organization (generated once), its full
    extraction (run once into `<cache>/<base profile>-<seed>/source/`, cached: `extracted.json`), and a
    fresh `run/` whose landing is that extraction written `profile.copies` times and whose config
    lists every copy's repositories. Set-up, not timed: the `replicate` line reports its cost."""
    from flows import pipeline
    from flows.bench.replicate import landed_repositories, replicate, replicated_config
    from flows.config import load_config

    base = get_profile(profile.replicate_from or "")
    base_dir, generated = generated_org(base, seed, cache_root)
    generated = {**generated, "profile": base.name}
    home = cache_root / f"{profile.name}-{seed}"
    workspace = Workspace(home, home / "run")
    if reuse_run:
        if not workspace.config_path.exists():
            raise ValueError(f"{workspace.run_dir}: no previous run to reuse; run the whole benchmark once first")
        return workspace, [generated]
    source = Workspace(base_dir, base_dir / "source")      # shared by every profile replicated from it
    marker = source.run_dir / "extracted.json"
    if marker.exists():
        extracted = {**json.loads(marker.read_text(encoding="utf-8")), "cached": True}
    else:
        shutil.rmtree(source.run_dir, ignore_errors=True)
        source.run_dir.mkdir(parents=True)
        write_run_config(base_dir / "changetrail.toml", source.run_dir, memory_limit)
        lines = [run_stage(f"extract:{name}", source)
                 for name in pipeline.configured_sources(load_config(source.config_path))]
        extracted = {"wall_s": round(sum(l["wall_s"] for l in lines), 3), "records": sum(l["records"] for l in lines)}
        marker.write_text(json.dumps(extracted), encoding="utf-8")
        extracted["cached"] = False
    shutil.rmtree(workspace.run_dir, ignore_errors=True)
    workspace.run_dir.mkdir(parents=True)
    write_run_config(base_dir / "changetrail.toml", workspace.run_dir, memory_limit)
    landing = source.run_dir / "landing"
    base_config = load_config(workspace.config_path)
    repos = sorted({*landed_repositories(landing), *base_config.teams,
                    *(base_config.sources.github.repos if base_config.sources.github else [])})
    text = workspace.config_path.read_text(encoding="utf-8")
    workspace.config_path.write_text(replicated_config(text, repos, profile.copies), encoding="utf-8")
    config = load_config(workspace.config_path)
    day = day_folder(workspace) if profile.daily else None
    if day is not None:
        shutil.rmtree(day, ignore_errors=True)
    figures = replicate(landing, config.warehouse.landing, profile.copies, repos, config.policy.ticket_key_pattern,
                        months_back=profile.months_back, day_dest=day,
                        day_after=last_day(PERIOD) if day is not None else None)
    return workspace, [generated, {"stage": "replicate", "from": base.name, **figures,
                                   "source_extract_wall_s": extracted["wall_s"], "source_cached": extracted["cached"]}]


def day_folder(workspace: Workspace) -> Path:
    """Where a replicated profile keeps its held-back day until the `load_day` stage."""
    return workspace.org_dir / "day"


def last_day(period: str) -> str:
    """The period's last day, YYYY-MM-DD: the day held back and loaded on top of the history."""
    from datetime import timedelta

    from warehouse.periods import parse_period

    return (parse_period(period).end - timedelta(days=1)).date().isoformat()


def before_day(workspace: Workspace, restore: bool) -> None:
    """Keep the warehouse as it stands before the held-back day (`before-day.duckdb` beside the
    run), or with `restore` put it back, so `--stage load_day --stage reconcile_incremental` times
    the same day again on new code. Set-up, not timed."""
    from flows.config import load_config

    path = load_config(workspace.config_path).warehouse.path
    kept = workspace.org_dir / "before-day.duckdb"
    if restore:
        if kept.exists():
            Path(f"{path}.wal").unlink(missing_ok=True)
            shutil.copyfile(kept, path)
            os.sync()                  # the copy's writeback must not slow the timed stages after it
    else:
        shutil.copyfile(path, kept)
        os.chmod(kept, 0o600)          # evidence, like the warehouse it copies: owner only


def release_day(workspace: Workspace) -> int:
    """Move the held-back day's files and manifests into the run's landing (set-up, not timed)."""
    from flows.config import load_config

    day, moved = day_folder(workspace), 0
    landing = load_config(workspace.config_path).warehouse.landing
    for path in sorted(day.rglob("*")) if day.exists() else []:
        if path.is_file():
            target = landing / path.relative_to(day)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.rename(target)
            moved += 1
    return moved


def write_run_config(org_config: Path, run_dir: Path, memory_limit: str | None = None) -> None:
    """The organization's config with its paths pointing at the run folder (sources stay cached)."""
    from reports.evidence_pack.signing import write_key_file

    text = org_config.read_text(encoding="utf-8")
    sample = (org_config.parent / "sample").as_posix()
    text = text.replace('"file://sample/', f'"file://{sample}/').replace('"sample/', f'"{sample}/')
    write_key_file(run_dir / "signing-key.pem")
    if memory_limit:  # [warehouse] memory_limit: DuckDB spills above it instead of growing to 80 % of RAM
        text = text.replace("[warehouse]\n", f'[warehouse]\nmemory_limit = "{memory_limit}"\n', 1)
    text += '\n[reports.evidence_pack]\nsigning_key_file = "signing-key.pem"\n'
    (run_dir / "changetrail.toml").write_text(text, encoding="utf-8")


def run_stage(stage: str, workspace: Workspace, period: str = PERIOD) -> dict:
    """Run one stage in a fresh interpreter; its last stdout line is the stage's JSON."""
    proc = subprocess.run([sys.executable, "-m", "flows.bench.stage", stage, str(workspace.config_path), period],
                          capture_output=True, text=True, cwd=workspace.run_dir, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"benchmark stage {stage} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stages(workspace: Workspace, profile: Profile | None = None) -> list[str]:
    from flows import pipeline
    from flows.config import load_config
    from reports.registry import REPORTS

    replicated = profile is not None and bool(profile.replicate_from)   # landed already: no extraction
    reports = [f"report:{name}" for name in REPORTS]
    if replicated:   # with `daily`: the held-back last day loaded on top, then reconciled incrementally
        return ["load", "floor", "reconcile"] + reports + (["load_day", "reconcile_incremental"] if profile.daily else [])
    sources = pipeline.configured_sources(load_config(workspace.config_path))
    # the daily run on top: extract from the loaded cursors, load, incremental reconcile
    day = [f"extract_incremental:{name}" for name in sources] + ["load_day", "reconcile_incremental"]
    return [f"extract:{name}" for name in sources] + ["load", "floor", "reconcile"] + reports + day


def bench(profile_name: str, seed: int = 7, cache_root: Path | None = None,
          only: list[str] | None = None, emit: Callable[[dict], None] = lambda line: None,
          stages_only: list[str] | None = None, memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
          rebase: bool = False) -> list[dict]:
    """Run the benchmark; every JSON line is passed to `emit` as it is produced and returned.

    `stages_only`: time just these stages again on the previous run's folder (its warehouse as the
    earlier stages left it), e.g. ["reconcile", "report:quarterly"]. `rebase` (a profile with a
    held-back day): before the day, re-evaluate the kept warehouse on this code and keep it (see
    `_timed`)."""
    profile = get_profile(profile_name)
    if rebase and not (profile.daily and (not stages_only or "load_day" in stages_only)):
        raise ValueError("--rebase re-evaluates the warehouse before a held-back day: it needs a profile"
                         " with one (H, LD) and the load_day stage")
    if profile.replicate_from:
        workspace, setup = prepare_replicated(profile, seed, cache_root or default_cache_root(),
                                              reuse_run=bool(stages_only), memory_limit=memory_limit)
    else:
        workspace, generated = prepare(profile, seed, cache_root or default_cache_root(),
                                       reuse_run=bool(stages_only), memory_limit=memory_limit)
        setup = [generated]
    if stages_only:
        known = stages(workspace, profile)
        unknown = sorted(set(stages_only) - set(known))
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(known)}")
    lines = [{"stage": "machine", "profile": profile.name, "memory_limit": memory_limit, **machine()}, *setup]
    for line in lines:
        emit(line)
    for line in _timed(workspace, only, stages_only, profile, rebase):
        lines.append(line)
        emit(line)
    lines.append(summary(lines, profile))
    emit(lines[-1])
    return lines


def _timed(workspace: Workspace, only: list[str] | None, stages_only: list[str] | None = None,
           profile: Profile | None = None, rebase: bool = False) -> Iterator[dict]:
    """Each stage's line. Before `load_day` the warehouse as it stood before the day is kept, or
    restored when re-timing; with `rebase` it is then evaluated once more (no new data, untimed:
    its line says `"stage": "rebase"`) and kept so, so the day is timed on models, digests and
    results built by the code under test rather than by the code that built the history."""
    floor = None
    for stage in stages(workspace, profile):
        if stages_only and stage not in stages_only:
            continue
        if stage.startswith("report:") and profile is not None and profile.replicate_from and not (only or stages_only):
            continue                               # XL: reports only when named (--only): not targets
        if only and stage.startswith("report:") and stage not in only and stage.split(":", 1)[1] not in only:
            continue
        if stage == "load_day" and profile is not None and profile.replicate_from:
            before_day(workspace, restore=bool(stages_only))
            if rebase:
                yield {**run_stage("reconcile_incremental", workspace), "stage": "rebase", "timed": False}
                before_day(workspace, restore=False)
            release_day(workspace)
        try:
            line = run_stage(stage, workspace)
        except RuntimeError as exc:
            if not stage.startswith("report:"):
                raise
            yield {"stage": stage, "error": str(exc).splitlines()[-1]}  # one report failing does not end the run
            continue
        if stage == "floor":
            floor = line["wall_s"]
        line["ratio_to_floor"] = round(line["wall_s"] / floor, 2) if floor else None
        line["load_average"] = round(os.getloadavg()[0], 2)
        yield line


def summary(lines: list[dict], profile: Profile) -> dict:
    timed = [l for l in lines if "wall_s" in l and l["stage"] not in ("generate", "replicate", "floor", "rebase")]
    failed = [l["stage"] for l in lines if "error" in l]
    extract = [l for l in timed if l["stage"].startswith("extract:")]
    github = next((l for l in extract if l["stage"] == "extract:github"), None)
    github_day = next((l for l in lines if l["stage"] == "extract_incremental:github"), None)
    pulls = next((l.get("pull_requests") for l in lines if l["stage"] == "generate"), None)
    return {
        "stage": "summary", "profile": profile.name,
        "extract_wall_s": round(sum(l["wall_s"] for l in extract), 3),
        "api_requests": sum(l.get("api_requests", 0) for l in extract),
        "github_requests_per_1000_prs": (round(github["api_requests"] * 1000 / pulls, 1)
                                         if github and pulls else None),
        "github_requests_incremental_day": github_day["api_requests"] if github_day else None,
        "peak_rss_mb": max((l["peak_rss_mb"] for l in timed), default=None),
        "total_wall_s": round(sum(l["wall_s"] for l in timed), 3),
        "failed_stages": failed,
    }
