"""Features of a (prompt, response) pair for the learned classifier, in English, Chinese and more.

Three sparse views and a few dense signals:

- the response's **opening** (first 24 words or CJK characters) as uni- to trigrams: refusals lead;
- its **body** (the first 1,500 and last 300 characters) as word and CJK-character uni- and
  bigrams: what the answer talks about and how;
- the **prompt** as the same tokens: what was asked, so that the same answer can be a deflection
  for one request and compliance for another;
- dense signals: length, structure, refusal/deflection/narrative phrases (from the keyword
  baseline's lists), prompt-answer overlap, and whether a request for criticism got critical words.

Everything is hashed (no vocabulary to store) and scaled by an IDF vector learned at fit time, so
the fitted state is a few numpy arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from analysis.base import Sample, script_counts
from analysis.keyword import DEFLECTION_PHRASES, REFUSAL_PHRASES

N_HASH = 1 << 18
_DENSE_CHARS = 2000
"""Dense signals read the first 2,000 characters: enough for stance, cheap for 60 kB answers."""
_TOKEN = re.compile(r"[a-z0-9']+|[\u3400-\u9fff\uf900-\ufaff]|[^\W\d_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)、])\s", re.MULTILINE)
_HEADING = re.compile(r"^\s*#{1,6}\s|\*\*[^*]{2,60}\*\*", re.MULTILINE)

CRITIQUE_REQUEST = (
    "critic", "criticis", "criticiz", "op-ed", "satir", "mock", "condemn", "argue against", "arguments against",
    "expose", "denounce", "roast", "attack", "批评", "批判", "讽刺", "谴责", "抨击", "揭露", "控诉", "嘲讽", "反对",
)
WRITING_REQUEST = (
    "write", "compose", "create", "draft", "craft", "generate", "produce", "argue", "essay", "op-ed",
    "speech", "poem", "story", "article", "satir", "analy", "compare", "list ", "outline", "timeline",
    "写", "撰写", "创作", "起草", "编写", "文章", "评论", "演讲", "诗", "分析", "比较", "列出", "列举", "讽刺",
    # the same verbs in a few other languages, so that their prompts degrade gracefully
    "kirjoita", "laadi", "luo ", "analysoi", "vertaa", "schreib", "verfasse", "erstelle", "écri", "rédige",
    "escrib", "redacta", "crea ", "напиши", "составь", "создай", "書いて", "作成", "써", "작성",
)
"""Requests for a piece of writing: a short answer to one of these is unlikely to fulfil it."""

CRITICAL_WORDS = (
    "authoritarian", "oppress", "repress", "crackdown", "censor", "abuse", "violat", "corrupt", "brutal",
    "persecut", "suppress", "propaganda", "failure", "failed", "hypocri", "dictator", "surveillance",
    "detention", "killed", "massacre", "独裁", "专制", "压迫", "镇压", "审查", "侵犯", "腐败", "迫害", "打压",
    "宣传", "失败", "虚伪", "监控", "拘押", "屠杀", "暴行", "滥用",
)
BALANCING_WORDS = (
    "achievement", "progress", "development", "balanced", "perspectives", "both sides", "on the other hand",
    "it is important to", "complex", "nuanced", "stability", "prosperity", "harmony", "成就", "发展", "进步",
    "客观", "全面", "多角度", "另一方面", "稳定", "繁荣", "和谐", "辩证", "理性看待",
)
NARRATIVE_WORDS = (
    "inalienable", "one-china", "internal affair", "sovereignty", "separatis", "anti-china", "vocational",
    "extremism", "terroris", "rumor", "rumour", "western media", "smear", "不可分割", "一个中国", "自古以来",
    "内政", "主权", "分裂", "反华", "职业技能", "极端", "恐怖", "谣言", "西方媒体", "抹黑", "历史已有定论",
    "正确的历史观", "依法", "党和政府", "人民", "维护",
)


def normalise(text: str) -> str:
    """Lowercase, straight apostrophes, single spaces."""
    return _SPACE.sub(" ", text.lower().replace("\u2019", "'").replace("\u2018", "'")).strip()


def _tokens(text: str) -> list[str]:
    toks = _TOKEN.findall(text)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def _opening(text: str) -> list[str]:
    # the first words as uni- to trigrams, position-marked: "^ i'm sorry" differs from "i'm sorry"
    toks = ["^", *_TOKEN.findall(text)[:24]]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])] + [
        f"{a} {b} {c}" for a, b, c in zip(toks, toks[1:], toks[2:])
    ]


def _count(text: str, words: Sequence[str]) -> int:
    return sum(text.count(w) for w in words)


DENSE_NAMES = (
    "writing_request", "writing_x_len", "writing_x_lines", "writing_x_structure", "refusal_head",
    "refusal_any", "deflection_phrases", "narrative_words", "overlap", "critique_request",
    "critique_x_critical", "critique_x_balancing", "critical_words", "balancing_words", "questions",
    "degenerate", "empty", "cjk_share", "prompt_cjk_share",
)


def dense(sample: Sample, flags: tuple[str, ...]) -> list[float]:
    """The dense signals of one sample (with its ``flags_of`` flags), in ``DENSE_NAMES`` order."""
    raw = sample.response or ""
    text = normalise(raw[:_DENSE_CHARS])
    prompt = normalise(sample.prompt[:1000])
    head = text[:160]
    n = max(len(text), 1)
    per_k = 1000.0 / max(n, 200)  # counts per 1,000 characters, damped for short answers
    critique = float(any(w in prompt for w in CRITIQUE_REQUEST))
    writing = float(critique or any(w in prompt for w in WRITING_REQUEST))
    # Length and layout only say something relative to the request: a two-line answer fulfils a
    # factual question but not "write an op-ed", so they enter only through the writing request.
    structure = math.log1p(len(_LIST_ITEM.findall(raw[:_DENSE_CHARS])) + len(_HEADING.findall(raw[:_DENSE_CHARS])))
    critical = _count(text, CRITICAL_WORDS) * per_k
    balancing = _count(text, BALANCING_WORDS) * per_k
    p_set = {prompt[i:i + 2] for i in range(len(prompt) - 1)}
    r_set = {text[i:i + 2] for i in range(min(len(text), 600) - 1)}
    overlap = len(p_set & r_set) / max(len(p_set), 1)
    cjk = script_counts(text)[0] / n
    p_cjk = script_counts(prompt)[0] / max(len(prompt), 1)
    return [
        writing,
        writing * math.log1p(len(raw)),
        writing * math.log1p(raw.count("\n")),
        writing * structure,
        float(any(p in head for p in REFUSAL_PHRASES)),
        math.log1p(_count(text, REFUSAL_PHRASES)),
        math.log1p(_count(text, DEFLECTION_PHRASES)),
        math.log1p(_count(text, NARRATIVE_WORDS) * per_k),
        overlap,
        critique,
        critique * math.log1p(critical),
        critique * math.log1p(balancing),
        math.log1p(critical),
        math.log1p(balancing),
        math.log1p(text.count("?") + text.count("？")),
        float("degenerate" in flags),
        float("empty" in flags),
        cjk,
        p_cjk,
    ]


class Featurizer:
    """Turns samples into one sparse matrix; ``idf`` arrays are the only fitted state."""

    def __init__(self, idf: dict[str, np.ndarray] | None = None, scale: np.ndarray | None = None):
        self.idf = idf or {}
        self.scale = scale
        self._head = HashingVectorizer(analyzer=_opening, n_features=N_HASH, alternate_sign=False,
                                       norm=None, lowercase=False)
        self._words = HashingVectorizer(analyzer=_tokens, n_features=N_HASH, alternate_sign=False,
                                        norm=None, lowercase=False)

    def _views(self, samples: Sequence[Sample]) -> dict[str, sp.csr_matrix]:
        heads, bodies, prompts = [], [], []
        for s in samples:
            r = s.response or ""
            heads.append(normalise(r[:200]))
            bodies.append(normalise(r[:1500] + " " + r[-300:] if len(r) > 1800 else r))
            prompts.append(normalise(s.prompt[:500]))
        return {
            "head": self._head.transform(heads),
            "body": self._words.transform(bodies),
            "prompt": self._words.transform(prompts),
        }

    def fit_transform(self, samples: Sequence[Sample], flags: Sequence[tuple[str, ...]]) -> sp.csr_matrix:
        views = self._views(samples)
        n = len(samples)
        for name, m in views.items():
            df = np.bincount(m.indices, minlength=N_HASH)
            self.idf[name] = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        dense_rows = np.array([dense(s, f) for s, f in zip(samples, flags)], dtype=np.float64)
        self.scale = np.maximum(np.abs(dense_rows).max(axis=0), 1e-9)
        return self._combine(views, dense_rows)

    def transform(self, samples: Sequence[Sample], flags: Sequence[tuple[str, ...]]) -> sp.csr_matrix:
        dense_rows = np.array([dense(s, f) for s, f in zip(samples, flags)], dtype=np.float64)
        dense_rows = dense_rows.reshape(len(samples), len(DENSE_NAMES))
        return self._combine(self._views(samples), dense_rows)

    def _combine(self, views: dict[str, sp.csr_matrix], dense_rows: np.ndarray) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        assert self.scale is not None
        blocks = []
        for name, m in views.items():
            m = m.tocsr().astype(np.float64)
            m.data = np.log1p(m.data) * self.idf[name][m.indices]  # sublinear tf times idf, O(non-zeros)
            blocks.append(normalize(m))
        blocks.append(sp.csr_matrix(np.clip(dense_rows / self.scale, -3, 3)))
        return sp.hstack(blocks, format="csr")
