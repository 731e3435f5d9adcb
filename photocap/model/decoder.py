"""LSTM caption decoder with soft attention over the encoder's feature grid (Show, Attend and Tell).

Read top to bottom: the attention module, the decoder's state, one decoding step, and the teacher-forced
forward pass used in training. Beam search (beam.py) drives `init_state` and `step`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int
    feature_dim: int  # channels of the encoder grid (1280 for EfficientNet-Lite0, 2048 for ResNet-50)
    embed_dim: int = 512
    hidden_dim: int = 512
    attention_dim: int = 512
    context_dim: int = 512  # grid features are projected to this size before attention reads them
    dropout: float = 0.5
    num_concepts: int = 0  # size of the word-presence head (0: none)

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


class SoftAttention(nn.Module):
    """Additive attention: weights over the grid cells given the LSTM's hidden state."""

    def __init__(self, context_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.key = nn.Linear(context_dim, attention_dim)
        self.query = nn.Linear(hidden_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1)

    def keys(self, context: torch.Tensor) -> torch.Tensor:
        return self.key(context)  # computed once per image, reused at every step

    def forward(self, keys: torch.Tensor, context: torch.Tensor, hidden: torch.Tensor):
        energy = self.score(torch.tanh(keys + self.query(hidden).unsqueeze(1))).squeeze(2)  # (B, cells)
        alpha = torch.softmax(energy, dim=1)
        return (context * alpha.unsqueeze(2)).sum(dim=1), alpha


@dataclass
class DecoderState:
    hidden: torch.Tensor  # (N, hidden_dim)
    cell: torch.Tensor  # (N, hidden_dim)
    context: torch.Tensor  # (N, cells, context_dim)
    keys: torch.Tensor  # (N, cells, attention_dim)

    def select(self, rows: torch.Tensor) -> DecoderState:
        """The states of `rows` (beam search reorders and expands hypotheses with this)."""
        return DecoderState(self.hidden[rows], self.cell[rows], self.context[rows], self.keys[rows])

    def reorder_within_images(self, rows: torch.Tensor, images_changed: bool) -> DecoderState:
        """Beam search's `select`: `rows` only ever pick hypotheses of the same image, whose context and keys
        are identical, so those (the bulk of the state) are copied only when finished images leave."""
        if images_changed:
            return self.select(rows)
        return DecoderState(self.hidden[rows], self.cell[rows], self.context, self.keys)

    def first(self, n: int) -> DecoderState:
        return DecoderState(self.hidden[:n], self.cell[:n], self.context[:n], self.keys[:n])


class CaptionDecoder(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        c = config
        self.project = nn.Sequential(nn.LayerNorm(c.feature_dim), nn.Linear(c.feature_dim, c.context_dim),
                                     nn.ReLU(), nn.Dropout(c.dropout))
        self.attention = SoftAttention(c.context_dim, c.hidden_dim, c.attention_dim)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.init_hidden = nn.Linear(c.context_dim, c.hidden_dim)
        self.init_cell = nn.Linear(c.context_dim, c.hidden_dim)
        self.gate = nn.Linear(c.hidden_dim, c.context_dim)  # how much of the attended context to let in
        self.lstm = nn.LSTMCell(c.embed_dim + c.context_dim, c.hidden_dim)
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(c.hidden_dim, c.vocab_size)
        # Word-presence head over the pooled grid: the words a caption of this photo would likely contain.
        self.concepts = nn.Linear(c.feature_dim, c.num_concepts) if c.num_concepts else None

    def init_state(self, grid: torch.Tensor) -> DecoderState:
        """Initial state from the mean of the (B, cells, feature_dim) grid."""
        context = self.project(grid)
        mean = context.mean(dim=1)
        return DecoderState(torch.tanh(self.init_hidden(mean)), torch.tanh(self.init_cell(mean)),
                            context, self.attention.keys(context))

    def step(self, tokens: torch.Tensor, state: DecoderState):
        """One word: logits over the vocabulary for the next token, the new state, the attention weights."""
        attended, alpha = self.attention(state.keys, state.context, state.hidden)
        attended = torch.sigmoid(self.gate(state.hidden)) * attended
        hidden, cell = self.lstm(torch.cat([self.embed(tokens), attended], dim=1), (state.hidden, state.cell))
        logits = self.output(self.dropout(hidden))
        return logits, DecoderState(hidden, cell, state.context, state.keys), alpha

    def forward(self, grid: torch.Tensor, image_of_caption: torch.Tensor, captions: torch.Tensor,
                lengths: torch.Tensor):
        """Teacher forcing over the captions of a batch of images.

        grid (I, cells, feature_dim) holds each image once; caption n belongs to image image_of_caption[n].
        captions (N, T) start with <start> and are sorted by decreasing length (tokens incl. <start>, <end>).
        Returns the logits of every real next token, packed step by step as (sum(lengths - 1), vocab), and
        each caption's total attention per grid cell (N, cells).
        """
        state = self.init_state(grid).select(image_of_caption)  # project each image once, not per caption
        total = len(captions)
        logits, attention_totals = [], grid.new_zeros(total, grid.shape[1])
        for t in range(int(lengths[0]) - 1):
            active = int((lengths > t + 1).sum())  # sorted: only the first `active` captions go on
            state = state.first(active)
            step_logits, state, alpha = self.step(captions[:active, t], state)
            logits.append(step_logits)
            attention_totals = attention_totals + nn.functional.pad(alpha, (0, 0, 0, total - active))
        return torch.cat(logits), attention_totals

    def concept_probabilities(self, grid: torch.Tensor) -> torch.Tensor:
        if self.concepts is None:
            raise ValueError("this model has no word-presence head")
        return torch.sigmoid(self.concepts(grid.mean(dim=1)))
