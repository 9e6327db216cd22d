"""Batching without wasted compute: pad each micro-batch only to its own longest example.

Together with length-grouped sampling (examples of similar length share a micro-batch) the padding
left is a few percent; the collator counts useful and padding tokens so that runs and the benchmark
can report the padding fraction. Each example keeps its own row, so no token attends across examples
and positions start at 0 for every example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from nativeval.finetune.data import IGNORE_INDEX


@dataclass
class PadToLongestCollator:
    pad_token_id: int
    useful_tokens: int = 0
    padding_tokens: int = 0

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        longest = max(len(f["input_ids"]) for f in features)
        input_ids = torch.full((len(features), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(features), longest), dtype=torch.long)
        for row, feature in enumerate(features):
            n = len(feature["input_ids"])
            input_ids[row, :n] = torch.as_tensor(feature["input_ids"])
            labels[row, :n] = torch.as_tensor(feature["labels"])
            attention_mask[row, :n] = 1
        useful = int(attention_mask.sum())
        self.useful_tokens += useful
        self.padding_tokens += input_ids.numel() - useful
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}

    @property
    def padding_fraction(self) -> float:
        total = self.useful_tokens + self.padding_tokens
        return self.padding_tokens / total if total else 0.0


class LengthGroupedSampler(torch.utils.data.Sampler[int]):
    """Examples of similar length side by side, optimizer steps in random order.

    Each epoch (seeded by ``seed + epoch``, so a resumed run sees the same order): shuffle, cut into
    mega-batches of ``megabatch_groups`` optimizer steps, sort each mega-batch by length, cut it into
    groups of ``group_size`` (one optimizer step: micro-batch x processes x accumulation) and shuffle
    the groups, so that no step order follows length.
    """

    def __init__(self, lengths: list[int], group_size: int, seed: int = 0, megabatch_groups: int = 50):
        self.lengths = lengths
        self.group_size = max(1, group_size)
        self.seed = seed
        self.megabatch = self.group_size * megabatch_groups
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        import random

        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        groups = []
        for start in range(0, len(order), self.megabatch):
            block = sorted(order[start : start + self.megabatch], key=lambda i: self.lengths[i], reverse=True)
            groups += [block[i : i + self.group_size] for i in range(0, len(block), self.group_size)]
        rng.shuffle(groups)
        return iter([i for group in groups for i in group])
