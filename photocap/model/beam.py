"""Batched beam search over the caption decoder.

Every image keeps `beam_size` live hypotheses; a hypothesis that emits <end> moves to that image's finished
list, scored by its log-probability divided by length**length_penalty. An image is done once it has
`beam_size` finished captions. <unk>, <pad> and <start> are never emitted, nor an empty caption, and a word
that would repeat a trigram already in the caption is blocked (the classic "a dog in a dog in a dog" loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from photocap.model.decoder import CaptionDecoder
from photocap.model.object_input import ObjectInput
from photocap.model.vocab import Vocabulary


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[int, ...]  # words only, without <start> and <end>
    log_prob: float
    score: float  # length-normalised log-probability (higher is better)


def _blocked_by_trigram(tokens: list[int]) -> set[int]:
    """Next tokens that would repeat a trigram of `tokens`."""
    if len(tokens) < 2:
        return set()
    last_two = (tokens[-2], tokens[-1])
    return {tokens[i + 2] for i in range(len(tokens) - 2) if (tokens[i], tokens[i + 1]) == last_two}


def _forbid(log_probs: torch.Tensor, vocab: Vocabulary, hypotheses: list[list[int]], t: int, max_len: int):
    log_probs[:, [vocab.pad_id, vocab.start_id, vocab.unk_id]] = float("-inf")
    if t == 0:  # an empty caption is no caption
        log_probs[:, vocab.end_id] = float("-inf")
    if t == max_len - 1:  # out of room: the only way on is to stop
        end_column = log_probs[:, vocab.end_id].clone()
        log_probs.fill_(float("-inf"))
        log_probs[:, vocab.end_id] = end_column
    for row, tokens in enumerate(hypotheses):
        blocked = _blocked_by_trigram(tokens)
        if blocked:
            log_probs[row, list(blocked)] = float("-inf")


def beam_search(decoder: CaptionDecoder, grid: torch.Tensor, vocab: Vocabulary, beam_size: int = 3,
                max_len: int = 20, length_penalty: float = 0.7, objects: ObjectInput | None = None,
                image_present: torch.Tensor | None = None) -> list[Hypothesis]:
    """The best caption for each image of `grid` (B, cells, feature_dim)."""
    return [candidates[0] for candidates in beam_candidates(decoder, grid, vocab, beam_size, max_len, length_penalty,
                                                            objects=objects, image_present=image_present)]


@torch.inference_mode()
def beam_candidates(decoder: CaptionDecoder, grid: torch.Tensor, vocab: Vocabulary, beam_size: int = 3,
                    max_len: int = 20, length_penalty: float = 0.7,
                    guidance: torch.Tensor | None = None, objects: ObjectInput | None = None,
                    image_present: torch.Tensor | None = None) -> list[list[Hypothesis]]:
    """Every caption the beam finished for each image of `grid` (B, cells, feature_dim), best first (at
    least one per image: an image whose beam never finished gets an empty caption scored -inf).

    `guidance` (B, vocabulary) is added to each image's word log-probabilities at every step: -inf forbids a
    word, a positive bonus draws the search towards it until the caption holds it (then the bonus is spent,
    so a bonus word is not repeated for its bonus). A grounded decoder reads each image's `objects` and
    `image_present` (see CaptionDecoder.init_state); other decoders ignore them.

    The state holds k rows per image still searching; an image that is done leaves the batch, so a batch
    costs what its captions need, not what its longest caption needs times the batch size.
    """
    batch, k = grid.shape[0], beam_size
    state = decoder.init_state(grid, objects, image_present).select(
        torch.arange(batch, device=grid.device).repeat_interleave(k))
    # Only the first of each image's k identical starting beams is live, or the beam would hold k copies.
    beam_scores = torch.full((batch, k), float("-inf"), device=grid.device)
    beam_scores[:, 0] = 0.0
    tokens = torch.full((batch * k,), vocab.start_id, dtype=torch.long, device=grid.device)
    sequences: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    bias = guidance.to(grid.device).float().repeat_interleave(k, dim=0) if guidance is not None else None
    searching = list(range(batch))  # the images still in the state, in row-block order

    for t in range(max_len):
        logits, state, _ = decoder.step(tokens, state)
        log_probs = torch.log_softmax(logits.float(), dim=1)
        if bias is not None:
            log_probs += bias
        _forbid(log_probs, vocab, sequences, t, max_len)
        vocab_size = log_probs.shape[1]
        totals = (beam_scores.view(-1, 1) + log_probs).view(len(searching), -1)  # (images, k * V)
        top_scores, top_ids = totals.topk(2 * k, dim=1)  # 2k: room for k live beams after some end
        top_scores, top_ids = top_scores.tolist(), top_ids.tolist()

        rows, next_tokens, next_scores, still_searching = [], [], [], []
        for slot, image in enumerate(searching):
            continuing: list[tuple[int, int, float]] = []
            for score, flat in zip(top_scores[slot], top_ids[slot], strict=True):
                if len(continuing) == k or score == float("-inf"):
                    break
                source, word = slot * k + flat // vocab_size, flat % vocab_size
                if word == vocab.end_id:
                    words = sequences[source]
                    finished[image].append(Hypothesis(tuple(words), score, score / (len(words) + 1) ** length_penalty))
                    if len(finished[image]) >= k:
                        break
                else:
                    continuing.append((source, word, score))
            if len(finished[image]) >= k or not continuing:
                continue  # done: it leaves the batch
            still_searching.append(image)
            while len(continuing) < k:  # pad with dead beams so every image keeps exactly k rows
                continuing.append((continuing[0][0], vocab.end_id, float("-inf")))
            for source, word, score in continuing:
                rows.append(source)
                next_tokens.append(word)
                next_scores.append(score)
        if not still_searching:
            break
        index = torch.tensor(rows, device=grid.device)
        state = state.reorder_within_images(index, images_changed=len(still_searching) < len(searching))
        searching = still_searching
        tokens = torch.tensor(next_tokens, device=grid.device)
        beam_scores = torch.tensor(next_scores, device=grid.device).view(len(searching), k)
        if bias is not None:
            bias = bias[index]
            emitted = torch.arange(len(rows), device=grid.device)
            bias[emitted, tokens] = bias[emitted, tokens].clamp(max=0.0)
        sequences = [sequences[r] + [w] for r, w in zip(rows, next_tokens, strict=True)]

    return [sorted(hyps, key=lambda h: -h.score) if hyps else [Hypothesis((), float("-inf"), float("-inf"))]
            for hyps in finished]


@torch.inference_mode()
def greedy_decode(decoder: CaptionDecoder, grid: torch.Tensor, vocab: Vocabulary,
                  max_len: int = 20) -> list[tuple[int, ...]]:
    """Most likely word at every step, under the same rules as beam search (a reference for tests)."""
    state = decoder.init_state(grid)
    tokens = torch.full((grid.shape[0],), vocab.start_id, dtype=torch.long, device=grid.device)
    sequences: list[list[int]] = [[] for _ in range(grid.shape[0])]
    ended = [False] * grid.shape[0]
    for t in range(max_len):
        logits, state, _ = decoder.step(tokens, state)
        log_probs = torch.log_softmax(logits.float(), dim=1)
        _forbid(log_probs, vocab, sequences, t, max_len)
        tokens = log_probs.argmax(dim=1)
        for i, word in enumerate(tokens.tolist()):
            if not ended[i]:
                if word == vocab.end_id:
                    ended[i] = True
                else:
                    sequences[i].append(word)
        if all(ended):
            break
    return [tuple(s) for s in sequences]
