"""One loaded chat model: prompt formatting from the GGUF's own template, next-token scores, streaming."""
from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from app.llm.files import ModelFileError, check_model_file
from app.llm.loading import new_llama
from app.llm.run_settings import RunSettings

N_CTX = 4096
# sequences the cache has room for: prompts that share a prefix are evaluated side by side (branch_logprobs): the
# option checks of one answer (up to 5 options), the empty answer's readings, the misconception checks
BRANCHES = 8
BRANCH_FROM_CACHE = 48  # shared tokens past the cache that are evaluated once rather than in every ending
# tokens per step of a stoppable prime. A stop aborts a step part-way (the abort callback), so the step only sets how
# much of a stopped prime stays evaluated; each step streams the weights again: a 397-token prompt of the 1.5B took
# 4.9 s in 32-token steps, 3.4 s in 128-token steps, 3.1 s in one batch (2 cores, 2026-12-04)
PRIME_STEP = 128
FALLBACK_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                     "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


class Cancelled(Exception):
    """The caller set the cancel event."""


class ChatEngine:
    """Owns one `Llama`; not thread-safe, so one worker thread uses it."""

    def __init__(self, path: Path, settings: RunSettings | None = None):
        # imported here, in the process that loads the model: llama_cpp (and the jinja2 it pulls in) is a tenth of a
        # second nobody waits for
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        self.path = path
        self.sha256 = check_model_file(path)
        started = time.perf_counter()
        try:
            self.llm = new_llama(str(path), settings, sequences=BRANCHES, n_ctx=N_CTX, n_batch=512)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelFileError(f"llama.cpp could not load {path.name}: {exc}. The file may be corrupt or "
                                 "there may not be enough memory.") from exc
        self.load_seconds = time.perf_counter() - started
        meta = self.llm.metadata
        template = meta.get("tokenizer.chat_template") or FALLBACK_TEMPLATE
        eos = self._token_text(self.llm.token_eos())
        bos = self._token_text(self.llm.token_bos()) if self.llm.token_bos() >= 0 else ""
        self._formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        self.name = path.name
        self._last: tuple[tuple[int, ...], np.ndarray] | None = None  # the last prompt's tokens and logits
        # per slot ("explanation", "answer"), a prompt's tokens and the llama.cpp state after them
        self._kept: dict[str, tuple[list[int], bytes]] = {}
        # llama.cpp asks this between the steps of an evaluation: a set cancel event stops even a long prompt
        self._abort: threading.Event | None = None
        self._abort_callback = llama_cpp.ggml_abort_callback(lambda _data: self._abort is not None
                                                             and self._abort.is_set())
        llama_cpp.llama_set_abort_callback(self.llm._ctx.ctx, self._abort_callback, None)

    def _token_text(self, token: int) -> str:
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def format(self, system: str, user: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return self._formatter(messages=messages).prompt

    def tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def prime(self, text: str, keep: str = "", stop: threading.Event | None = None) -> int:
        """Evaluate a prompt prefix now so that a later prompt sharing it pays only for the rest.
        With keep (a slot's name), a copy of the state after it is kept in that slot, replacing the slot's last: the
        cache holds one sequence, so other prompts evaluated in between would otherwise push it out (the explanation
        prompt is primed this way, then the choice prompt; the answer, before the checks of sentences that may speak
        to the grader, which are prompts of their own).
        With stop, the prompt is evaluated in steps of PRIME_STEP tokens and abandoned once stop is set (returns 0;
        otherwise the number of tokens in the prompt)."""
        tokens = self.tokens(text)
        if stop is None:
            self._eval(tokens, need_logits=False)
        else:
            for end in range(self._common_prefix(tokens) + PRIME_STEP, len(tokens) + PRIME_STEP, PRIME_STEP):
                if stop.is_set():
                    return 0
                try:
                    self._eval(tokens[:end], need_logits=False, cancel=stop)
                except Cancelled:
                    return 0
        if keep:
            self._kept[keep] = (tokens, self._state())
        return len(tokens)

    def _state(self) -> bytes:
        import llama_cpp  # Llama.save_state would also copy a logits row per token (270 MB here): not needed
        ctx = self.llm._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        used = llama_cpp.llama_state_get_data(ctx, buffer, size)
        return bytes(buffer[:used])

    def _resume_kept(self, tokens: list[int]) -> None:
        """Put a kept state back when it starts this prompt and the cache holds less of it (the longest such)."""
        common = self._common_prefix(tokens)
        found = [(len(kept), slot) for slot, (kept, _) in self._kept.items()
                 if len(kept) > common and tokens[: len(kept)] == kept]
        if not found:
            return
        slot = max(found)[1]
        kept, state = self._kept[slot]
        import llama_cpp
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_set_data(self.llm._ctx.ctx, buffer, len(state)) != len(state):
            del self._kept[slot]  # could not restore: evaluate the prompt the ordinary way
            self.llm.n_tokens = 0
            return
        self.llm.input_ids[: len(kept)] = kept
        self.llm.n_tokens = len(kept)
        self.llm._requires_eval = True  # as Llama.load_state: the next call re-evaluates the last token
        self._last = None

    def _common_prefix(self, tokens: list[int]) -> int:
        cached = self.llm.input_ids[: self.llm.n_tokens]
        common, limit = 0, min(len(cached), len(tokens))
        while common < limit and cached[common] == tokens[common]:
            common += 1
        return common

    def reset(self) -> None:
        """Forget the evaluated prompt (benchmarks time a cold start this way)."""
        self.llm.reset()
        self._last = None

    def cached_tokens(self) -> int:
        return self.llm.n_tokens

    def next_token_logprobs(self, prompt: str, cancel: threading.Event | None = None) -> np.ndarray:
        """Log-probabilities of the next token after the prompt (reusing the cached common prefix).
        A set cancel stops the evaluation part-way (raises Cancelled); the cache keeps what was evaluated."""
        logits = self._eval(self.tokens(prompt), need_logits=True, cancel=cancel)
        shifted = logits - logits.max()
        return shifted - np.log(np.exp(shifted).sum())

    def branch_logprobs(self, prompts: list[str], token_ids: list[int],
                        cancel: threading.Event | None = None) -> list[list[float]]:
        """Log-probabilities of token_ids as the next token after each prompt. The prompts' shared prefix is evaluated
        once (or reused from the cache), then their different endings together, in one batch, each ending in a
        sequence of its own over the prefix's cache cells. On a CPU a short batch costs far more per token than a long
        one (here, four endings of 20 tokens: 1.37 s one after another, 0.74 s side by side), so a few yes/no checks
        of one answer cost little more than one. The numbers differ from one-at-a-time evaluation only by the order
        of floating-point sums. A set cancel stops it (raises Cancelled); the cache then holds the shared prefix."""
        seqs = [self.tokens(p) for p in prompts]
        shared = min(min(len(t) for t in seqs) - 1, self._shared(seqs))
        self._resume_kept(seqs[0][:shared])
        cached = min(shared, self._common_prefix(seqs[0]))
        if shared - cached > BRANCH_FROM_CACHE:
            self._eval(seqs[0][:shared], need_logits=False, cancel=cancel)
        else:  # the few shared tokens not cached go into every ending: a batch of its own would cost more
            shared = cached
        self.llm.n_tokens = shared
        self.llm._ctx.kv_cache_seq_rm(-1, shared, -1)  # what the cache held past the prefix (another prompt's end)
        self._last = None
        found: list[list[float]] = []
        for group in self._groups([t[shared:] for t in seqs]):
            found += self._branches(shared, group, token_ids, cancel)
        return found

    @staticmethod
    def _shared(seqs: list[list[int]]) -> int:
        common = 0
        while all(len(t) > common and t[common] == seqs[0][common] for t in seqs):
            common += 1
        return common

    def _groups(self, endings: list[list[int]]) -> Iterable[list[list[int]]]:
        """The endings in batches that fit the batch size and the sequences the cache has room for."""
        group: list[list[int]] = []
        for ending in endings:
            if group and (len(group) == BRANCHES - 1 or sum(map(len, group)) + len(ending) > self.llm.n_batch):
                yield group
                group = []
            group.append(ending)
        if group:
            yield group

    def _branches(self, shared: int, endings: list[list[int]], token_ids: list[int],
                  cancel: threading.Event | None) -> list[list[float]]:
        import llama_cpp
        ctx, batch = self.llm._ctx.ctx, self.llm._batch.batch
        memory = llama_cpp.llama_get_memory(ctx)
        if sum(map(len, endings)) > self.llm.n_batch:  # one ending longer than a batch: one at a time
            return [self._one(shared, ending, token_ids, cancel) for ending in endings]
        outputs, n = [], 0
        for seq, ending in enumerate(endings, start=1):
            llama_cpp.llama_memory_seq_cp(memory, 0, seq, 0, shared)
            for j, token in enumerate(ending):
                batch.token[n], batch.pos[n], batch.seq_id[n][0], batch.n_seq_id[n] = token, shared + j, seq, 1
                batch.logits[n] = j == len(ending) - 1
                n += 1
            outputs.append(n - 1)
        batch.n_tokens = n
        try:
            with self._stoppable(cancel):
                code = llama_cpp.llama_decode(ctx, batch)
                if code != 0:
                    raise RuntimeError(f"llama_decode returned {code}")
            return [self._picked(llama_cpp.llama_get_logits_ith(ctx, i), token_ids) for i in outputs]
        finally:
            for seq in range(1, len(endings) + 1):
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)

    def _one(self, shared: int, ending: list[int], token_ids: list[int], cancel) -> list[float]:
        self.llm.n_tokens = shared
        with self._stoppable(cancel):
            self.llm.eval(ending)
        self._last = None
        return self._picked(self.llm._ctx.get_logits(), token_ids)

    def _picked(self, row, token_ids: list[int]) -> list[float]:
        logits = np.ctypeslib.as_array(row, shape=(self.llm.n_vocab(),))
        top = logits.max()
        norm = top + np.log(np.exp(logits - top).sum())
        return [float(logits[t] - norm) for t in token_ids]

    def first_token(self, text: str) -> int:
        return self.tokens(text)[0]

    def _eval(self, tokens: list[int], need_logits: bool, cancel: threading.Event | None = None) -> np.ndarray | None:
        llm = self.llm
        self._resume_kept(tokens)
        common = self._common_prefix(tokens)
        key = tuple(tokens)
        if need_logits and common == len(tokens):
            if self._last is not None and self._last[0] == key:
                # the same prompt again: re-evaluating its last token alone takes another kernel path in some
                # llama.cpp builds and moves log-probabilities by up to 0.75, so the saved logits are returned
                return self._last[1].copy()
            common -= 1  # re-evaluate the last token so its logits are fresh
        llm.n_tokens = common
        if common < len(tokens):
            try:
                with self._stoppable(cancel):
                    llm.eval(tokens[common:])
            except (RuntimeError, Cancelled):
                # llama.cpp drops the batch it gave up on; n_tokens still counts only the batches evaluated
                self._last = None
                raise
        if not need_logits:
            return None
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()
        self._last = (key, logits)
        return logits.copy()

    def stream(self, prompt: str, max_tokens: int, cancel: threading.Event | None = None,
               on_token: Callable[[str], None] | None = None, finish_after: int | None = None) -> str:
        """Generate greedily from the prompt, calling on_token per piece; raises Cancelled when asked.
        With finish_after, stop at the first sentence end once that many pieces are out (max_tokens stays the cap)."""
        parts = []
        self._resume_kept(self.tokens(prompt))
        with self._stoppable(cancel):
            chunks: Iterable = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0,
                                                          top_k=1, repeat_penalty=1.1, stream=True)
            return self._pieces(chunks, parts, cancel, on_token, finish_after)

    @contextmanager
    def _stoppable(self, cancel: threading.Event | None):
        """llama.cpp's abort callback reads `cancel` for the length of the block; a RuntimeError raised there once
        it is set (llama.cpp gave up on the batch) is raised as Cancelled."""
        self._abort = cancel
        try:
            yield
        except RuntimeError as exc:
            if cancel is not None and cancel.is_set():
                raise Cancelled() from exc
            raise
        finally:
            self._abort = None

    @staticmethod
    def _pieces(chunks: Iterable, parts: list[str], cancel, on_token, finish_after) -> str:
        sentence_end = False
        for chunk in chunks:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            piece = chunk["choices"][0]["text"]
            if piece:
                if sentence_end and piece[0].isspace():
                    break  # the sentence really ended ("1.3" and "e.g." do not end one)
                parts.append(piece)
                if on_token:
                    on_token(piece)
                sentence_end = (finish_after is not None and len(parts) >= finish_after
                                and piece.rstrip().endswith((".", "!", "?")))
        return "".join(parts)
