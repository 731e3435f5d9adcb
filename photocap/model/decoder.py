"""LSTM caption decoder with soft attention over the encoder's feature grid (Show, Attend and Tell).

A *grounded* decoder (num_object_classes > 0) also attends to the objects the detector found: each object (its
COCO category and count, photocap.model.object_input) is one more cell beside the grid's 49, with a learned
"nothing" cell so that there is always one. Such a decoder can caption without a photo too, from objects alone
(`image_present` False masks the grid out): that is how it learns everyday words from captions without their
photos.

Read top to bottom: the attention module, the decoder's state, one decoding step, and the teacher-forced
forward pass used in training. Beam search (beam.py) drives `init_state` and `step`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from photocap.model.object_input import NUM_COUNT_IDS, ObjectInput


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
    num_object_classes: int = 0  # object categories + 1 (padding) of a grounded decoder (0: not grounded)
    # A grounded decoder's object cells go through their own LayerNorm -> Linear -> ReLU, as the grid's cells do
    # (False: the decoders of 2026-12-05 and before, whose object cells are relu(class + count)).
    object_projection: bool = False

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

    def forward(self, keys: torch.Tensor, context: torch.Tensor, hidden: torch.Tensor,
                mask: torch.Tensor | None = None):
        energy = self.score(torch.tanh(keys + self.query(hidden).unsqueeze(1))).squeeze(2)  # (B, cells)
        if mask is not None:
            energy = energy.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(energy, dim=1)
        return (context * alpha.unsqueeze(2)).sum(dim=1), alpha


@dataclass
class DecoderState:
    hidden: torch.Tensor  # (N, hidden_dim)
    cell: torch.Tensor  # (N, hidden_dim)
    context: torch.Tensor  # (N, cells, context_dim)
    keys: torch.Tensor  # (N, cells, attention_dim)
    mask: torch.Tensor | None = None  # (N, cells) bool: the cells attention may read (None: all)

    def select(self, rows: torch.Tensor) -> DecoderState:
        """The states of `rows` (beam search reorders and expands hypotheses with this)."""
        return DecoderState(self.hidden[rows], self.cell[rows], self.context[rows], self.keys[rows],
                            None if self.mask is None else self.mask[rows])

    def reorder_within_images(self, rows: torch.Tensor, images_changed: bool) -> DecoderState:
        """Beam search's `select`: `rows` only ever pick hypotheses of the same image, whose context and keys
        are identical, so those (the bulk of the state) are copied only when finished images leave."""
        if images_changed:
            return self.select(rows)
        return DecoderState(self.hidden[rows], self.cell[rows], self.context, self.keys, self.mask)

    def first(self, n: int) -> DecoderState:
        return DecoderState(self.hidden[:n], self.cell[:n], self.context[:n], self.keys[:n],
                            None if self.mask is None else self.mask[:n])


class CaptionDecoder(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        c = config
        self.project = nn.Sequential(nn.LayerNorm(c.feature_dim), nn.Linear(c.feature_dim, c.context_dim),
                                     nn.ReLU(), nn.Dropout(c.dropout))
        self.attention = SoftAttention(c.context_dim, c.hidden_dim, c.attention_dim)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        grounded = c.num_object_classes > 0
        # A grounded decoder starts from the mean of the grid and the mean of the object cells side by side.
        summary_dim = 2 * c.context_dim if grounded else c.context_dim
        self.init_hidden = nn.Linear(summary_dim, c.hidden_dim)
        self.init_cell = nn.Linear(summary_dim, c.hidden_dim)
        if grounded:
            self.object_class = nn.Embedding(c.num_object_classes, c.context_dim, padding_idx=0)
            self.object_count = nn.Embedding(NUM_COUNT_IDS, c.context_dim, padding_idx=0)
            self.no_object = nn.Parameter(torch.zeros(1, 1, c.context_dim))
            self.object_dropout = nn.Dropout(c.dropout)
            if c.object_projection:
                self.object_project = nn.Sequential(nn.LayerNorm(c.context_dim),
                                                    nn.Linear(c.context_dim, c.context_dim), nn.ReLU())
        self.gate = nn.Linear(c.hidden_dim, c.context_dim)  # how much of the attended context to let in
        self.lstm = nn.LSTMCell(c.embed_dim + c.context_dim, c.hidden_dim)
        self.dropout = nn.Dropout(c.dropout)
        self.output = nn.Linear(c.hidden_dim, c.vocab_size)
        # Word-presence head over the pooled grid: the words a caption of this photo would likely contain.
        self.concepts = nn.Linear(c.feature_dim, c.num_concepts) if c.num_concepts else None

    @property
    def grounded(self) -> bool:
        return self.config.num_object_classes > 0

    def init_state(self, grid: torch.Tensor, objects: ObjectInput | None = None,
                   image_present: torch.Tensor | None = None) -> DecoderState:
        """Initial state from the mean of the (B, cells, feature_dim) grid; a grounded decoder also reads
        `objects` (None: none found) and, where `image_present` (B,) is False, ignores the grid."""
        context = self.project(grid)
        if not self.grounded:
            mean = context.mean(dim=1)
            return DecoderState(torch.tanh(self.init_hidden(mean)), torch.tanh(self.init_cell(mean)),
                                context, self.attention.keys(context))
        batch, cells = grid.shape[0], grid.shape[1]
        present = (torch.ones(batch, dtype=torch.bool, device=grid.device) if image_present is None
                   else image_present.to(grid.device))
        grid_mask = present.unsqueeze(1).expand(batch, cells)
        grid_mean = (context * grid_mask.unsqueeze(2)).sum(dim=1) / cells
        object_cells, object_mask = self._object_cells(objects, batch, grid.device)
        object_mean = (object_cells * object_mask.unsqueeze(2)).sum(dim=1) / object_mask.sum(dim=1, keepdim=True)
        summary = torch.cat([grid_mean, object_mean], dim=1)
        context = torch.cat([context, object_cells], dim=1)
        return DecoderState(torch.tanh(self.init_hidden(summary)), torch.tanh(self.init_cell(summary)),
                            context, self.attention.keys(context), torch.cat([grid_mask, object_mask], dim=1))

    def _object_cells(self, objects: ObjectInput | None, batch: int,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1 + K, context_dim) cells: "nothing", then each object; and which of them are real."""
        nothing = self.no_object.expand(batch, 1, -1)
        if objects is None or objects.classes.shape[1] == 0:
            return nothing, torch.ones(batch, 1, dtype=torch.bool, device=device)
        classes, counts = objects.classes.to(device), objects.counts.to(device)
        embedded = self.object_class(classes) + self.object_count(counts)
        cells = self.object_project(embedded) if self.config.object_projection else torch.relu(embedded)
        cells = self.object_dropout(cells)
        mask = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=device), classes > 0], dim=1)
        return torch.cat([nothing, cells], dim=1), mask

    def step(self, tokens: torch.Tensor, state: DecoderState):
        """One word: logits over the vocabulary for the next token, the new state, the attention weights."""
        attended, alpha = self.attention(state.keys, state.context, state.hidden, state.mask)
        attended = torch.sigmoid(self.gate(state.hidden)) * attended
        hidden, cell = self.lstm(torch.cat([self.embed(tokens), attended], dim=1), (state.hidden, state.cell))
        logits = self.output(self.dropout(hidden))
        return logits, DecoderState(hidden, cell, state.context, state.keys, state.mask), alpha

    def forward(self, grid: torch.Tensor, image_of_caption: torch.Tensor, captions: torch.Tensor,
                lengths: torch.Tensor, objects: ObjectInput | None = None,
                image_present: torch.Tensor | None = None):
        """Teacher forcing over the captions of a batch of images.

        grid (I, cells, feature_dim) holds each image once; caption n belongs to image image_of_caption[n].
        captions (N, T) start with <start> and are sorted by decreasing length (tokens incl. <start>, <end>).
        A grounded decoder reads each image's `objects` and `image_present` too (see init_state).
        Returns the logits of every real next token, packed step by step as (sum(lengths - 1), vocab), and
        each caption's total attention per grid cell (N, cells), objects' cells included.
        """
        # Project each image once, not per caption.
        state = self.init_state(grid, objects, image_present).select(image_of_caption)
        total = len(captions)
        logits, attention_totals = [], grid.new_zeros(total, state.context.shape[1])
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
