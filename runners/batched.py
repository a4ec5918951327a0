"""Continuous batching on llama.cpp: many chat requests decoded as parallel sequences of one context.

Greedy answers follow ``Llama.create_chat_completion`` step for step: the same chat formatter object
and tokenization, the same first-maximum argmax, and ``Llama._create_completion``'s stop logic (EOG,
the format's stop strings, ``max_tokens``, the hold-back on split UTF-8 characters), and
``GGUFRunner``'s loop guard (``runners.loops``) at the same token counts. Whether the
*numbers* match depends on llama.cpp: one KV stream per sequence keeps attention sums in the order a
single-sequence context uses; matrix products are row-independent for some quantisations (SmolLM2's
Q4_1: identical answers) but not others (Qwen2.5's Q5_0/Q8_0/Q4_K: logits depend on how many tokens
share a batch, as they already do between two sequential runs in different orders).
"""

from __future__ import annotations

import ctypes
import heapq
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from runners.base import Completion, Request, RunnerError, split_reasoning
from runners.loops import looping

if TYPE_CHECKING:
    from llama_cpp import Llama

_LEAD_BYTES = ((2, 192), (3, 224), (4, 240))
"""(length, lead-byte pattern) of multi-byte UTF-8 characters, as in ``Llama._create_completion``."""


@dataclass
class _Seq:
    """One request's decoding state."""

    index: int
    prompt: list[int]
    stops: list[bytes]
    limit: int  # max_tokens after the sequential path's context truncation
    stop_loops: bool
    slot: int = -1
    feed: list[int] = field(default_factory=list)  # to decode: the prompt past the prefix, then each new token
    pos: int = 0
    out: list[int] = field(default_factory=list)
    text: bytes = b""
    hold: int = 0  # tokens to take before stop checks run again (upstream's multibyte_fix)
    finish: str = ""
    result: bytes = b""
    start: float = 0.0


def chat_formatter(llm: Llama) -> Any:
    """The chat formatter ``llm.create_chat_completion`` would use, chosen in the same order.

    Raises:
        RunnerError: the chat handler is not built from a plain formatter (e.g. multimodal).
    """
    from llama_cpp import llama_chat_format

    handler: Any = (
        llm.chat_handler
        or llm._chat_handlers.get(llm.chat_format or "")
        or llama_chat_format.get_chat_completion_handler(llm.chat_format or "")
    )
    code, cells = getattr(handler, "__code__", None), getattr(handler, "__closure__", None)
    if code is None or cells is None or "chat_formatter" not in code.co_freevars:
        raise RunnerError(f"chat format {llm.chat_format!r} cannot be batched (no plain chat formatter)")
    return cells[code.co_freevars.index("chat_formatter")].cell_contents


class BatchedEngine:
    """Decodes many greedy requests as parallel sequences of a second context on ``llm``'s model.

    The context shares ``llm``'s loaded weights, threads and attention settings; only sequence and
    batch sizes differ. Close the engine before closing ``llm``.

    Args:
        llm: a loaded ``llama_cpp.Llama`` (e.g. ``GGUFRunner.llm``).
        parallel: sequences in flight at once.
        per_seq_ctx: context per sequence; the default, ``llm.n_ctx()``, makes prompt limits and
            ``max_tokens`` truncation those of the sequential path. KV memory is allocated for
            ``parallel`` times the longest prompt plus its ``max_tokens``, not ``per_seq_ctx``.
        n_batch: tokens per ``llama_decode`` (generated tokens and prompt chunks together).
        share_prefix: decode a prompt prefix most requests share (e.g. a default system prompt) once,
            in an extra holder sequence, and copy it into each slot instead of decoding it again.
        kv_unified: one KV buffer for all sequences; interleaves their cells, which changes the
            order of attention sums and so breaks exact identity with the sequential path.

    Raises:
        RunnerError: the model's chat format cannot be batched.
    """

    def __init__(self, llm: Llama, parallel: int = 8, per_seq_ctx: int | None = None, n_batch: int = 512,
                 share_prefix: bool = True, kv_unified: bool = False):  # fmt: skip
        import llama_cpp

        self.llm, self.parallel, self.n_batch = llm, parallel, max(n_batch, parallel)
        self.per_seq_ctx, self.share_prefix, self.kv_unified = per_seq_ctx or llm.n_ctx(), share_prefix, kv_unified
        self._formatter = chat_formatter(llm)
        self._vocab, self._n_vocab = llama_cpp.llama_model_get_vocab(llm.model), llm.n_vocab()
        self._pieces: dict[int, bytes] = {}
        self.prefix_tokens = 0  # prompt tokens the last complete_many decoded once for all requests
        self.cells = 0  # KV cells per sequence of the current context (0: none yet)
        self._ctx: Any = None
        self._mem: Any = None
        # A llama_batch over numpy buffers: filling it is slice assignment, not per-token ctypes.
        n, i32 = self.n_batch, ctypes.POINTER(ctypes.c_int32)
        self._tok, self._pos, self._sid, self._nsid = (np.zeros(n, np.int32) for _ in range(4))
        self._nsid[:], self._want = 1, np.zeros(n, np.int8)
        self._seq_ptrs = (i32 * n)(*(ctypes.cast(self._sid.ctypes.data + 4 * i, i32) for i in range(n)))
        self._batch = llama_cpp.llama_batch(
            n_tokens=0, token=self._tok.ctypes.data_as(i32), embd=None, pos=self._pos.ctypes.data_as(i32),
            n_seq_id=self._nsid.ctypes.data_as(i32), seq_id=self._seq_ptrs,
            logits=self._want.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
        )  # fmt: skip

    def _ensure_context(self, cells: int) -> None:
        """A context with at least ``cells`` KV cells per sequence (in 256-cell steps).

        Sized to the longest prompt plus its ``max_tokens`` rather than ``per_seq_ctx``, so KV
        memory follows what the requests need; it grows when a later call needs more.

        Raises:
            RunnerError: llama.cpp could not create the context (e.g. out of memory).
        """
        import llama_cpp

        cells = -(-cells // 256) * 256
        if self._ctx is not None and cells <= self.cells:
            return
        self.close()
        streams = self.parallel + self.share_prefix  # + the prefix holder
        params = llama_cpp.llama_context_params.from_buffer_copy(self.llm.context_params)
        params.n_ctx, params.n_batch, params.n_ubatch = streams * cells, self.n_batch, self.n_batch
        params.n_seq_max, params.kv_unified = streams, self.kv_unified
        self._ctx = llama_cpp.llama_init_from_model(self.llm.model, params)
        if self._ctx is None:
            raise RunnerError(f"llama.cpp could not create a context for {self.parallel} sequences of {cells} tokens")
        self._mem, self.cells = llama_cpp.llama_get_memory(self._ctx), cells

    def complete_many(self, requests: Sequence[Request]) -> Iterator[tuple[int, Completion | RunnerError]]:
        """Answer ``requests``, yielding ``(index, Completion)`` as each one finishes.

        A prompt longer than ``per_seq_ctx`` yields ``(index, RunnerError)`` first, as the
        sequential path would fail on it alone.

        Args:
            requests: temperature-0 requests; each may have its own ``max_tokens``.

        Returns:
            (position in ``requests``, its completion or error) pairs, in order of finishing.

        Raises:
            NotImplementedError: a request has temperature > 0 (checked before decoding anything).
            RunnerError: llama.cpp could not create the context or failed to decode.
        """
        import llama_cpp

        if any(r.params.temperature > 0 for r in requests):
            raise NotImplementedError("batched decoding is greedy only; sample with the sequential runner")
        seqs: list[_Seq] = []
        for i, request in enumerate(requests):
            try:
                seqs.append(self._prepare(i, request))
            except RunnerError as exc:
                yield i, exc
        if not seqs:
            return
        self._ensure_context(max(len(s.prompt) + s.limit for s in seqs) + 8)  # + the UTF-8 hold-back
        mem, holder = self._mem, self.parallel
        llama_cpp.llama_memory_clear(mem, True)
        shared = self._evaluate_prefix(seqs) if self.share_prefix else []
        self.prefix_tokens, held = len(shared), [0] * self.parallel  # prefix tokens in each slot's KV
        pending, free = deque(seqs), list(range(self.parallel))  # a heap: lowest slots first
        active: list[_Seq] = []
        while pending or active:
            while free and pending:
                seq, seq.start, slot = pending.popleft(), time.perf_counter(), heapq.heappop(free)
                most = min(len(shared), len(seq.prompt) - 1)
                reuse = next((i for i in range(most) if seq.prompt[i] != shared[i]), most)
                reuse = reuse if reuse >= 8 else 0  # not worth a stream copy for a few tokens
                if reuse > held[slot]:
                    llama_cpp.llama_memory_seq_rm(mem, slot, -1, -1)
                    llama_cpp.llama_memory_seq_cp(mem, holder, slot, -1, -1)
                llama_cpp.llama_memory_seq_rm(mem, slot, reuse, -1)
                seq.slot, seq.pos, seq.feed, held[slot] = slot, reuse, seq.prompt[reuse:], reuse
                active.append(seq)
            for seq, token in self._step(active):
                if self._accept(seq, token):
                    active.remove(seq)
                    llama_cpp.llama_memory_seq_rm(mem, seq.slot, held[seq.slot], -1)
                    heapq.heappush(free, seq.slot)
                    yield seq.index, self._completion(seq)
            while not pending and not self.kv_unified and active and free and free[0] < max(s.slot for s in active):
                # Separate KV streams only share a micro-batch when their sequence ids are
                # consecutive: close the gaps finished sequences leave (a whole-stream copy).
                seq = max(active, key=lambda s: s.slot)
                llama_cpp.llama_memory_seq_cp(mem, seq.slot, free[0], -1, -1)
                llama_cpp.llama_memory_seq_rm(mem, seq.slot, held[seq.slot], -1)
                held[free[0]] = held[seq.slot]
                seq.slot = heapq.heapreplace(free, seq.slot)

    def _prepare(self, index: int, request: Request) -> _Seq:
        """Render and tokenize like the chat handler; size ``max_tokens`` like ``_create_completion``."""
        result = self._formatter(messages=request.messages, functions=None, function_call=None, tools=None,
                                 tool_choice=None)  # fmt: skip
        prompt = self.llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = [] if result.stop is None else result.stop if isinstance(result.stop, list) else [result.stop]
        n_ctx, wanted = self.per_seq_ctx, request.params.max_tokens
        if len(prompt) >= n_ctx:
            raise RunnerError(f"request {index}: {len(prompt)} prompt tokens exceed the context of {n_ctx}")
        limit = n_ctx - len(prompt) if wanted is None or wanted <= 0 else min(wanted, n_ctx - len(prompt))
        return _Seq(index, prompt, [s.encode("utf-8") for s in stop], limit, request.params.stop_loops)

    def _evaluate_prefix(self, seqs: list[_Seq]) -> list[int]:
        """Decode into the holder sequence the prefix of the prompts that start with the commonest 8 tokens."""
        head, count = Counter(tuple(s.prompt[:8]) for s in seqs).most_common(1)[0]
        group = [s.prompt for s in seqs if tuple(s.prompt[:8]) == head]
        first, n = group[0], min(len(p) for p in group) - 1
        for prompt in group[1:]:
            n = next((i for i in range(n) if prompt[i] != first[i]), n)
        if count < 2 or n < 8:
            return []
        for at in range(0, n, self.n_batch):
            self._fill(0, first[at : min(n, at + self.n_batch)], at, self.parallel, want=False)
            self._decode(min(n, at + self.n_batch) - at)
        return first[:n]

    def _step(self, active: list[_Seq]) -> list[tuple[_Seq, int]]:
        """One ``llama_decode``: a prompt chunk of one sequence, else every sequence's next token.

        Separate KV streams: prompt tokens never share a decode with generated ones, as llama.cpp
        rounds a prompt token differently when it sits alone in its stream's part of a micro-batch
        (seen on SmolLM2); it costs nothing, prompts get micro-batches of their own anyway. Tokens go
        in slot order: llama.cpp batches streams together only for consecutive sequence ids.
        """
        import llama_cpp

        by_slot = sorted(active, key=lambda s: s.slot)
        prompt = next((s for s in by_slot if s.pos < len(s.prompt)), None)
        batch = by_slot if prompt is None or self.kv_unified else [prompt]
        room, n, outs = self.n_batch - sum(s.pos >= len(s.prompt) for s in batch), 0, []
        for seq in batch:
            take = 1 if seq.pos >= len(seq.prompt) else min(len(seq.feed), room)
            if take == 0:
                continue
            room -= take if seq.pos < len(seq.prompt) else 0
            self._fill(n, seq.feed[:take], seq.pos, seq.slot, want=take == len(seq.feed))
            del seq.feed[:take]
            seq.pos, n = seq.pos + take, n + take
            if not seq.feed:
                outs.append(seq)
        self._decode(n)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(self._ctx), shape=(len(outs), self._n_vocab))
        return list(zip(outs, logits.argmax(axis=1).tolist()))

    def _fill(self, n: int, tokens: list[int], pos: int, slot: int, want: bool) -> None:
        end = n + len(tokens)
        self._tok[n:end], self._pos[n:end], self._sid[n:end] = tokens, range(pos, pos + len(tokens)), slot
        self._want[n:end], self._want[end - 1] = 0, want

    def _decode(self, n_tokens: int) -> None:
        import llama_cpp

        self._batch.n_tokens = n_tokens
        if (rc := llama_cpp.llama_decode(self._ctx, self._batch)) != 0:
            raise RunnerError(f"llama_decode failed ({rc}) on a batch of {n_tokens} tokens")

    def _accept(self, seq: _Seq, token: int) -> bool:
        """Take a token the way ``Llama._create_completion`` does; True when ``seq`` is done."""
        import llama_cpp

        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            seq.finish, seq.result = "stop", self._text(seq)
            return True
        seq.out.append(token)
        if token not in self._pieces:
            buf = ctypes.create_string_buffer(256)
            size = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
            self._pieces[token] = buf.raw[: max(0, size)]
        seq.text += self._pieces[token]
        text = seq.result = self._text(seq)
        for k, char in enumerate(text[-3:]):  # upstream's check, quirks included
            for num, pattern in _LEAD_BYTES:
                if num > 3 - k and pattern & char == pattern:
                    seq.hold = num - (3 - k)
        if seq.hold > 0:
            seq.hold -= 1
        elif hits := [s for s in seq.stops if s in text]:
            seq.finish, seq.result = "stop", text[: text.index(hits[0])]
        elif len(seq.out) >= seq.limit:
            seq.finish = "length"
        if not seq.finish and seq.stop_loops and looping(len(seq.out), lambda: text):
            seq.finish = "repetition"
        seq.feed = [] if seq.finish else [token]
        return bool(seq.finish)

    def _text(self, seq: _Seq) -> bytes:
        """``Llama.detokenize(completion_tokens)``, with its leading-space rule after a BOS."""
        bos_space = seq.out and seq.out[0] == self.llm.token_bos() and seq.text[:1] == b" "
        return seq.text[1:] if bos_space else seq.text

    def _completion(self, seq: _Seq) -> Completion:
        reasoning, answer = split_reasoning(seq.result.decode("utf-8", errors="ignore"))
        return Completion(text=answer, finish_reason=seq.finish, reasoning=reasoning, prompt_tokens=len(seq.prompt),
                          completion_tokens=len(seq.out), latency_s=time.perf_counter() - seq.start)  # fmt: skip

    def close(self) -> None:
        """Free the engine's context (the model stays with ``llm``)."""
        import llama_cpp

        if self._ctx is not None:
            llama_cpp.llama_free(self._ctx)
            self._ctx = None

    def __enter__(self) -> BatchedEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
