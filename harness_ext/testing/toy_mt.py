"""A tiny random-init seq2seq MT model (M2M100 architecture) + tokenizer, built on disk in seconds.

For tests, benches and demos of the ``hf`` backend: its outputs are noise; it exercises plumbing
(batching, order, language codes), not quality. ``style="nllb"`` uses NLLB-200 codes (eng_Latn),
``style="m2m100"`` M2M100 codes (__en__).
"""

from __future__ import annotations

import json
from pathlib import Path

from nativeval.harness_ext.core.languages import language_table
from nativeval.harness_ext.testing.toymodel import CORPUS

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]


def build_tiny_mt_model(
    out_dir: str | Path,
    *,
    style: str = "m2m100",
    vocab_size: int = 800,
    d_model: int = 32,
    layers: int = 1,
    seed: int = 0,
    init_std: float = 0.5,
) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    out = Path(out_dir)
    if (out / "config.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    code = "m2m100" if style == "m2m100" else "nllb"
    lang_tokens = [
        f"__{row[code]}__" if style == "m2m100" else row[code]
        for row in language_table().values()
        if row.get(code)
    ]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS + lang_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS.read_text(encoding="utf-8").splitlines() * 2, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=256,
        additional_special_tokens=lang_tokens,
    )
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        scale_embedding=True,
        init_std=init_std,
    )
    M2M100ForConditionalGeneration(config).save_pretrained(out)
    (out / "nativeval_toy.json").write_text(
        json.dumps({"note": "random-init toy MT model; outputs are noise", "style": style, "seed": seed})
        + "\n"
    )
    return out
