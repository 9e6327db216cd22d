"""Local seq2seq MT through transformers: NLLB-200, M2M100 and Marian (OPUS-MT).

Language codes are mapped per family (the language registry, ``harness_ext/core/languages.yaml``): NLLB and
M2M100 prefix the source with its language token and force the target language token as the first generated
token; multi-target Marian models take a ``>>xxx<<`` target token. Segments arrive length-sorted from the
pipeline and are generated in padded batches; the model runs on GPU when one is present.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.languages import backend_code, language_table
from nativeval.translate.backends.base import Backend, BatchResult

MARIAN_PAIR = re.compile(r"opus-mt-([a-z]{2,3})-([a-z]{2,3})(?:$|[-_/])")


class HFBackend(Backend):
    name = "hf"
    sort_by_length = True
    default_concurrency = 1

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 16,
        device: str | None = None,
        max_new_tokens: int = 512,
        num_beams: int = 1,
        generation_kwargs: dict[str, Any] | None = None,
    ):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_batch_segments = self.batch_size * 4
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.generation_kwargs = dict(generation_kwargs or {})
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.net = AutoModelForSeq2SeqLM.from_pretrained(model).to(self.device).eval()
        except (OSError, ValueError) as err:
            first = str(err).splitlines()[0][:200]
            raise InputError(
                f"cannot load MT model {model!r} ({first}); give a local directory or a Hub id"
            ) from None
        if self.device.startswith("cuda"):
            self.net = self.net.half()
        self.scheme = self._detect_scheme()
        self._lock = threading.Lock()

    # --- language codes -----------------------------------------------------------------------------
    def _detect_scheme(self) -> str:
        vocab = self.tokenizer.get_vocab()
        if "eng_Latn" in vocab:
            return "nllb"
        if "__en__" in vocab:
            return "m2m100"
        return "marian"

    def _lang_token(self, code: str) -> str:
        token = backend_code(code, self.scheme)
        return f"__{token}__" if self.scheme == "m2m100" else token

    def supported_languages(self) -> list[str]:
        vocab = self.tokenizer.get_vocab()
        if self.scheme in ("nllb", "m2m100"):
            return sorted(
                c
                for c, codes in language_table().items()
                if codes.get(self.scheme) and self._lang_token(c) in vocab
            )
        pair = MARIAN_PAIR.search(str(getattr(self.net.config, "name_or_path", "") or self.model).lower())
        if pair:
            return sorted(c for c in pair.groups() if c in language_table())
        return sorted(language_table())

    def check_languages(self, src: str, tgt: str) -> None:
        super().check_languages(src, tgt)
        if self.scheme == "marian":
            pair = MARIAN_PAIR.search(self.model.lower())
            if pair and (src, tgt) != pair.groups() and pair.group(2) not in ("mul",):
                raise InputError(
                    f"Marian model {self.model} translates {pair.group(1)}->{pair.group(2)}, not {src}->{tgt}"
                )

    # --- generation ---------------------------------------------------------------------------------
    def encode(self, texts: list[str], src: str, tgt: str) -> list[list[int]]:
        tok = self.tokenizer
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        eos = [tok.eos_token_id] if tok.eos_token_id is not None else []
        if self.scheme in ("nllb", "m2m100"):
            prefix = [tok.convert_tokens_to_ids(self._lang_token(src))]
        else:
            target = backend_code(tgt, "marian")
            prefix = [tok.convert_tokens_to_ids(target)] if target in tok.get_vocab() else []
        limit = getattr(tok, "model_max_length", 1024) or 1024
        return [(prefix + row)[: max(1, min(limit, 1024) - len(eos))] + eos for row in ids]

    def generate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate ``texts`` in padded batches of ``batch_size``, longest first; results in input order."""
        import torch

        encoded = self.encode(texts, src, tgt)
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        out: list[str] = [""] * len(texts)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        gen_kwargs: dict[str, Any] = {
            "num_beams": self.num_beams,
            "do_sample": False,
            **self.generation_kwargs,
        }
        if self.scheme in ("nllb", "m2m100"):
            gen_kwargs["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(self._lang_token(tgt))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(len(encoded[i]) for i in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):  # right padding, as seq2seq encoders expect
                input_ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            with torch.inference_mode():
                generated = self.net.generate(
                    input_ids=input_ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    max_new_tokens=min(self.max_new_tokens, 2 * width + 16),
                    **gen_kwargs,
                )
            decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            for row, i in enumerate(chunk):
                out[i] = decoded[row].strip()
        return out

    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult:
        def run() -> list[str]:
            with self._lock:
                return self.generate(texts, src, tgt)

        return BatchResult(await asyncio.to_thread(run))

    def worst_case(self, texts: list[str]) -> dict[str, int]:
        return {}
