"""One loaded chat model: prompt formatting from the GGUF's own template, next-token scores, streaming."""
from __future__ import annotations

import ctypes
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from app.llm.files import ModelFileError, check_model_file
from app.llm.loading import new_llama
from app.llm.run_settings import RunSettings

N_CTX = 4096
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
            self.llm = new_llama(str(path), settings, n_ctx=N_CTX, n_batch=512)
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
            self._abort = cancel
            try:
                llm.eval(tokens[common:])
            except RuntimeError as exc:
                # llama.cpp drops the batch it gave up on; n_tokens still counts only the batches evaluated
                self._last = None
                if cancel is not None and cancel.is_set():
                    raise Cancelled() from exc
                raise
            finally:
                self._abort = None
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
        self._abort = cancel
        chunks: Iterable = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0,
                                                      top_k=1, repeat_penalty=1.1, stream=True)
        try:
            return self._pieces(chunks, parts, cancel, on_token, finish_after)
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
