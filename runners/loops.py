"""Repetition loops: where an answer starts going round in circles, so generation can stop there.

Small models often fall into a loop ("a unitary unitary unitary ...", one sentence over and over)
and spend the rest of ``max_tokens`` on it. A loop here is a unit of 1 to ``MAX_UNIT`` characters,
containing a letter or digit, repeated back to back ``COPIES`` times and spanning at least
``MIN_SPAN`` bytes of UTF-8. With ``GenerationParams.stop_loops`` the run loop cuts every answer at
the end of its first loop, whatever the backend, and the local backends stop generating there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from llama_cpp import Llama

MAX_UNIT = 128
COPIES = 3
MIN_SPAN = 64
"""In UTF-8 bytes: 64 Latin characters, 22 Chinese ones."""
CHECK_EVERY = 8
"""Generated tokens between two checks while decoding."""
WINDOW = 1024
"""Bytes of the answer's end a check reads. Earlier checks found no loop, so a new one ends in the
latest tokens; its three copies fit the window unless the unit is over ~100 characters. A loop a
check misses only costs tokens: every answer is cut afterwards with the whole text."""


def loop_end(text: str) -> int | None:
    """The end of the shortest prefix of ``text`` that ends in a loop, or None if there is none.

    >>> text = "Intro. " + "It is a part of it. " * 4
    >>> text[: loop_end(text)].count("It is a part of it.")
    3
    >>> loop_end("=" * 200) is None  # a rule, not a loop: no letter or digit
    True
    """
    cp = np.frombuffer(text.encode("utf-32-le", "replace"), dtype=np.uint32)
    n = len(cp)
    if n < COPIES:
        return None
    width = 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)  # UTF-8 bytes per character
    at_byte = np.concatenate(([0], np.cumsum(width)))
    unit = np.arange(1, min(MAX_UNIT, n // COPIES) + 1, dtype=np.int32)[:, None]  # one row per unit
    i = np.arange(n, dtype=np.int32)[None, :]
    same = (i >= unit) & (cp[np.maximum(i - unit, 0)] == cp)  # character i repeats the one `unit` before
    run = i - np.maximum.accumulate(np.where(same, -1, i), axis=1)  # how many such in a row, ending at i
    begin = i - run - unit + 1  # where that periodic stretch starts
    wordy = np.concatenate(([0], np.cumsum(np.fromiter(map(str.isalnum, text), bool, n))))
    ok = ((run >= (COPIES - 1) * unit) & (at_byte[i + 1] - at_byte[begin] >= MIN_SPAN)
          & (wordy[i + 1] > wordy[i + 1 - unit]))  # the unit holds a letter or digit  # fmt: skip
    ends = np.flatnonzero(ok.any(axis=0))
    return int(ends[0]) + 1 if len(ends) else None


def looping(n_tokens: int, text: Callable[[], bytes]) -> bool:
    """Whether to stop generating after ``n_tokens``: every ``CHECK_EVERY`` tokens, has ``text()`` a loop yet?"""
    if n_tokens == 0 or n_tokens % CHECK_EVERY:
        return False
    return loop_end(text()[-WINDOW:].decode("utf-8", errors="ignore")) is not None


class LoopGuard:
    """A llama-cpp-python logits processor that ends the answer (forces end-of-generation) at a loop.

    Checks as ``looping`` does, so the sequential path stops at the same token as the batched one.
    """

    def __init__(self, llm: Llama):
        self.llm, self.start, self.fired = llm, -1, False

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.start < 0:
            self.start = len(input_ids)  # the first call sees the prompt alone
        if not self.fired:
            self.fired = looping(len(input_ids) - self.start, lambda: self.llm.detokenize(input_ids[self.start :].tolist()))
        if self.fired:
            scores[:] = -np.inf
            scores[self.llm.token_eos()] = 0.0
        return scores


def cut_loop(text: str) -> tuple[str, bool]:
    """``text`` up to the end of its first loop, and whether it had one."""
    end = loop_end(text)
    return (text, False) if end is None else (text[:end], True)
