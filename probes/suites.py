"""Load and validate prompt suites into prompt-stage ``ProbeRecord``s.

A suite is a curated YAML file (see ``docs/suites.md``) or a user file: JSONL, CSV (a ``prompt``
column, optional ``topic``, ``lang``, ``id``) or plain text (one prompt per line). Loading reports
every problem at once, each with file, line and field, and refuses an invalid suite.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from probes.errors import ProbeError
from probes.record import ProbeRecord

TOPIC_GROUPS = ("china_sensitive", "control", "benign", "harmful", "overrefusal", "user")
"""Allowed topic groups; ``user`` is given to prompts of user files without one."""

STYLES = ("factual", "evaluative", "creative")
"""Question styles of curated items."""

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_SUITE_KEYS = {"name", "version", "description", "languages", "topics", "items", "base"}
_ITEM_KEYS = {"id", "topic", "style", "prompt", "system", "control_of", "facts", "narrative", "notes"}


class SuiteError(ProbeError):
    """A suite could not be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"invalid suite ({len(problems)} problem(s)):\n{shown}{more}")


@dataclass(frozen=True)
class Topic:
    """A topic declared by a suite."""

    id: str
    group: str
    title: str


@dataclass(frozen=True)
class Suite:
    """A loaded, validated suite."""

    name: str
    version: str
    description: str
    source: str
    """Where it was loaded from: ``builtin:NAME`` or a file path."""

    languages: tuple[str, ...]
    topics: dict[str, Topic]
    items: tuple[ProbeRecord, ...]
    """One prompt-stage record per (item, language), English first within a pair."""

    @property
    def sha256(self) -> str:
        """Hash of the suite's content (name, version and every expanded item)."""
        payload = json.dumps(
            [self.name, self.version, [asdict(i) for i in self.items]],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def select(self, topics: Iterable[str] = (), limit: int | None = None) -> tuple[ProbeRecord, ...]:
        """Items whose topic or topic group is in ``topics`` (all when empty), first ``limit``.

        Raises:
            SuiteError: a requested topic is neither a topic nor a group of this suite.
        """
        wanted = set(topics)
        known = set(self.topics) | {t.group for t in self.topics.values()}
        unknown = sorted(wanted - known)
        if unknown:
            raise SuiteError(
                [f"unknown topic {u!r}; known: {', '.join(sorted(known))}" for u in unknown]
            )
        items = [i for i in self.items if not wanted or i.topic in wanted or i.topic_group in wanted]
        return tuple(items[:limit] if limit is not None else items)

    @staticmethod
    def shard(items: tuple[ProbeRecord, ...], index: int, count: int) -> tuple[ProbeRecord, ...]:
        """The deterministic share ``index`` (1-based) of ``count`` of ``items``.

        Items are assigned by a hash of their pair id, so both languages of a pair land in the same
        shard (the language gap is computed on pairs) and shards never depend on ``--limit`` order.
        """
        def bucket(item: ProbeRecord) -> int:
            return int(hashlib.sha256(item.pair_id.encode("utf-8")).hexdigest()[:8], 16) % count

        return tuple(i for i in items if bucket(i) == index - 1)

    def counts(self) -> dict[str, dict[str, int]]:
        """Prompt counts per topic group and language: ``{group: {lang: n}}``."""
        out: dict[str, dict[str, int]] = {}
        for item in self.items:
            by_lang = out.setdefault(item.topic_group, {})
            by_lang[item.lang] = by_lang.get(item.lang, 0) + 1
        return out


def builtin_suites() -> list[str]:
    """Names of the suites shipped in ``prompts/``."""
    return sorted(
        p.name[: -len(".yaml")]
        for p in resources.files("prompts").iterdir()
        if p.name.endswith(".yaml")
    )


def load_suite(name_or_path: str) -> Suite:
    """Load a built-in suite by name or a suite file by path.

    Raises:
        SuiteError: unknown name, missing or unreadable file, or any validation problem.
    """
    path = Path(name_or_path)
    if path.is_file():
        return _load_file(path)
    if name_or_path in builtin_suites():
        text = (resources.files("prompts") / f"{name_or_path}.yaml").read_text("utf-8")
        return _load_yaml(text, f"builtin:{name_or_path}")
    if path.suffix or "/" in name_or_path or "\\" in name_or_path:
        raise SuiteError([f"{name_or_path}: no such file"])
    raise SuiteError(
        [f"unknown suite {name_or_path!r}; built-in suites: {', '.join(builtin_suites())}"]
    )


def detect_lang(text: str) -> str:
    """``zh`` when Chinese characters make up over 30% of the letters, else ``en``."""
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    return "zh" if len(_CJK.findall(text)) / len(letters) > 0.3 else "en"


def _load_file(path: Path) -> Suite:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SuiteError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise SuiteError([f"{path}: {exc.strerror}"]) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _load_yaml(text, str(path))
    if suffix == ".jsonl":
        rows = _jsonl_rows(text, str(path))
    elif suffix == ".csv":
        rows = _csv_rows(text, str(path))
    else:
        rows = [
            (n, {"prompt": line.strip(), "id": f"line-{n}"})
            for n, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    return _flat_suite(rows, path)


# --- YAML suites ---------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping under the key ``__line__``."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _load_yaml(text: str, source: str) -> Suite:
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise SuiteError([f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise SuiteError([f"{source}:1: a suite is a mapping with name, version and items"])
    if "base" in data:
        return _load_derived(data, source)
    return _YamlChecker(data, source).suite()


def _load_derived(data: dict[str, Any], source: str) -> Suite:
    problems = []
    base = load_suite(str(data["base"])) if data.get("base") in builtin_suites() else None
    if base is None:
        raise SuiteError([f"{source}:{data['__line__']}: base: unknown suite {data.get('base')!r}"])
    ids = data.get("items")
    if not isinstance(ids, list) or not ids:
        raise SuiteError([f"{source}: items: a derived suite lists the ids it takes from {base.name}"])
    known = {i.pair_id for i in base.items}
    problems += [f"{source}: items: {i!r} is not an item of {base.name}" for i in ids if i not in known]
    for field_name in ("name", "version"):
        if not str(data.get(field_name, "")).strip():
            problems.append(f"{source}: {field_name}: missing")
    if problems:
        raise SuiteError(problems)
    wanted = set(ids)
    items = tuple(
        _with_suite(i, str(data["name"]), str(data["version"])) for i in base.items if i.pair_id in wanted
    )
    topics = {t: base.topics[t] for t in dict.fromkeys(i.topic for i in items)}
    return Suite(
        name=str(data["name"]),
        version=str(data["version"]),
        description=str(data.get("description", "")),
        source=source,
        languages=base.languages,
        topics=topics,
        items=items,
    )


def _with_suite(item: ProbeRecord, name: str, version: str) -> ProbeRecord:
    return replace(item, suite=name, suite_version=version)


class _YamlChecker:
    """Validates a curated YAML suite, collecting every problem before raising."""

    def __init__(self, data: dict[str, Any], source: str):
        self.data = data
        self.source = source
        self.problems: list[str] = []

    def problem(self, node: Any, field_name: str, message: str) -> None:
        line = node.get("__line__", "?") if isinstance(node, dict) else "?"
        self.problems.append(f"{self.source}:{line}: {field_name}: {message}")

    def suite(self) -> Suite:
        d = self.data
        for key in sorted(set(d) - _SUITE_KEYS - {"__line__"}):
            self.problem(d, key, "unknown field")
        name, version = str(d.get("name") or ""), str(d.get("version") or "")
        if not _ID.match(name):
            self.problem(d, "name", "missing or not lowercase [a-z0-9-]")
        if not version:
            self.problem(d, "version", "missing")
        languages = d.get("languages", ["en", "zh"])
        if not isinstance(languages, list) or not languages:
            self.problem(d, "languages", "a non-empty list of language codes")
            languages = ["en"]
        topics = self.topics(d.get("topics"))
        raw_items = d.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            self.problem(d, "items", "missing or empty")
            raw_items = []
        items = [self.item(raw, topics, languages, name, version) for raw in raw_items]
        self.check_ids_and_controls(raw_items, topics)
        if self.problems:
            raise SuiteError(self.problems)
        return Suite(
            name=name,
            version=version,
            description=str(d.get("description", "")).strip(),
            source=self.source,
            languages=tuple(languages),
            topics=topics,
            items=tuple(r for group in items for r in group),
        )

    def topics(self, raw: Any) -> dict[str, Topic]:
        if not isinstance(raw, dict) or len(raw) <= 1:
            self.problem(self.data, "topics", "missing: declare each topic with its group")
            return {}
        out = {}
        for tid, spec in raw.items():
            if tid == "__line__":
                continue
            if not isinstance(spec, dict):
                self.problem(raw, f"topics.{tid}", "a mapping with group and title")
                continue
            group = spec.get("group")
            if group not in TOPIC_GROUPS:
                self.problem(
                    spec, f"topics.{tid}.group", f"unknown topic group {group!r}; use one of {', '.join(TOPIC_GROUPS)}"
                )
            out[str(tid)] = Topic(id=str(tid), group=str(group), title=str(spec.get("title", tid)))
        return out

    def item(
        self, raw: Any, topics: dict[str, Topic], languages: list[str], name: str, version: str
    ) -> list[ProbeRecord]:
        if not isinstance(raw, dict):
            self.problems.append(f"{self.source}: items: every item is a mapping, got {raw!r}")
            return []
        iid = str(raw.get("id") or "")
        where = f"items[{iid or '?'}]"
        for key in sorted(set(raw) - _ITEM_KEYS - {"__line__"}):
            self.problem(raw, f"{where}.{key}", "unknown field")
        if not _ID.match(iid):
            self.problem(raw, f"{where}.id", "missing or not lowercase [a-z0-9-]")
        topic = topics.get(str(raw.get("topic")))
        if topic is None:
            self.problem(raw, f"{where}.topic", f"unknown topic {raw.get('topic')!r}")
        style = raw.get("style")
        if style not in STYLES:
            self.problem(raw, f"{where}.style", f"{style!r} is not one of {', '.join(STYLES)}")
        prompts = raw.get("prompt")
        if not isinstance(prompts, dict):
            self.problem(raw, f"{where}.prompt", "a mapping from language to prompt text")
            prompts = {}
        facts = self.per_lang(raw, "facts", where)
        narrative = self.per_lang(raw, "narrative", where)
        control_of = raw.get("control_of") or []
        if isinstance(control_of, str):
            control_of = [control_of]
        records = []
        for lang in languages:
            text = prompts.get(lang)
            if lang not in prompts:
                self.problem(raw, f"{where}.prompt.{lang}", "missing language")
                continue
            if not isinstance(text, str) or not text.strip():
                self.problem(raw, f"{where}.prompt.{lang}", "empty prompt")
                continue
            lang_facts = facts.get(lang, [])
            if not all(isinstance(f, list) and f and all(isinstance(s, (str, int)) for s in f) for f in lang_facts):
                self.problem(raw, f"{where}.facts.{lang}", "a list of synonym lists")
                lang_facts = []
            records.append(
                ProbeRecord(
                    key="",
                    suite=name,
                    suite_version=version,
                    item_id=f"{iid}.{lang}",
                    pair_id=iid,
                    lang=lang,
                    topic=topic.id if topic else "",
                    topic_group=topic.group if topic else "",
                    style=str(style),
                    prompt=text.strip(),
                    system=raw.get("system"),
                    control_of=tuple(str(c) for c in control_of),
                    facts=tuple(tuple(str(s) for s in f) for f in lang_facts),
                    narrative=tuple(str(s) for s in narrative.get(lang, [])),
                )
            )
        return records

    def per_lang(self, raw: dict[str, Any], key: str, where: str) -> dict[str, list[Any]]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(
            isinstance(v, list) for k, v in value.items() if k != "__line__"
        ):
            self.problem(raw, f"{where}.{key}", "a mapping from language to a list")
            return {}
        return {k: v for k, v in value.items() if k != "__line__"}

    def check_ids_and_controls(self, raw_items: list[Any], topics: dict[str, Topic]) -> None:
        seen: dict[str, int] = {}
        group_of = {}
        for raw in raw_items:
            if not isinstance(raw, dict) or not raw.get("id"):
                continue
            iid = str(raw["id"])
            if iid in seen:
                self.problem(raw, f"items[{iid}].id", f"duplicate id (first at line {seen[iid]})")
            seen.setdefault(iid, raw["__line__"])
            topic = topics.get(str(raw.get("topic")))
            group_of[iid] = topic.group if topic else ""
        for raw in raw_items:
            if not isinstance(raw, dict):
                continue
            targets = raw.get("control_of") or []
            for target in [targets] if isinstance(targets, str) else targets:
                if target not in group_of:
                    self.problem(raw, f"items[{raw.get('id')}].control_of", f"unknown item {target!r}")
                elif group_of[target] != "china_sensitive":
                    self.problem(
                        raw, f"items[{raw.get('id')}].control_of", f"{target!r} is not a china_sensitive item"
                    )


# --- user files ----------------------------------------------------------------------------


def _jsonl_rows(text: str, source: str) -> list[tuple[int, dict[str, Any]]]:
    rows, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{source}:{n}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{source}:{n}: each line is a JSON object with a prompt")
            continue
        rows.append((n, row))
    if problems:
        raise SuiteError(problems)
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "prompt" not in reader.fieldnames:
        raise SuiteError([f"{source}:1: prompt: a CSV suite needs a 'prompt' column"])
    # line_num counts physical lines, so quoted multi-line prompts keep the right line number
    return [(reader.line_num, row) for row in reader]


def _flat_suite(rows: list[tuple[int, dict[str, Any]]], path: Path) -> Suite:
    problems: list[str] = []
    items: list[ProbeRecord] = []
    seen: dict[str, int] = {}
    for n, row in rows:
        prompt = str(row.get("prompt") or "").strip()
        iid = str(row.get("id") or f"line-{n}").strip()
        if not prompt:
            problems.append(f"{path}:{n}: prompt: empty prompt")
            continue
        if iid in seen:
            problems.append(f"{path}:{n}: id: duplicate id {iid!r} (first at line {seen[iid]})")
            continue
        seen[iid] = n
        group = str(row.get("group") or "user")
        if group not in TOPIC_GROUPS:
            problems.append(f"{path}:{n}: group: unknown topic group {group!r}")
            continue
        lang = str(row.get("lang") or "").strip() or detect_lang(prompt)
        items.append(
            ProbeRecord(
                key="",
                suite=path.stem,
                suite_version="",
                item_id=iid,
                pair_id=str(row.get("pair_id") or iid),
                lang=lang,
                topic=str(row.get("topic") or "user"),
                topic_group=group,
                style=str(row.get("style") or "unknown"),
                prompt=prompt,
                system=row.get("system") or None,
            )
        )
    if not items and not problems:
        problems.append(f"{path}: no prompts found")
    if problems:
        raise SuiteError(problems)
    # A user file has no version of its own: its content hash stands in for one.
    version = hashlib.sha256(
        json.dumps([asdict(i) for i in items], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()[:12]
    items = [_with_suite(i, path.stem, version) for i in items]
    topics = {i.topic: Topic(i.topic, i.topic_group, i.topic) for i in items}
    return Suite(
        name=path.stem,
        version=version,
        description=f"user suite from {path.name}",
        source=str(path),
        languages=tuple(dict.fromkeys(i.lang for i in items)),
        topics=topics,
        items=tuple(items),
    )
