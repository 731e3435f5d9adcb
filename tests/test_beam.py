"""Beam search on a real decoder and on a small hand-built model whose best caption is known."""

import itertools
import math

import torch
from torch import nn

from photocap.model.beam import beam_search, greedy_decode
from photocap.model.decoder import CaptionDecoder, DecoderConfig, DecoderState
from photocap.model.vocab import Vocabulary

VOCAB = Vocabulary.build([["a", "b", "c"]] * 5, min_count=1)
A, B, C, END = VOCAB.id_of("a"), VOCAB.id_of("b"), VOCAB.id_of("c"), VOCAB.end_id


class BigramModel(nn.Module):
    """The next word depends only on the previous one, through a fixed table of probabilities."""

    def __init__(self, table: dict[int, dict[int, float]]):
        super().__init__()
        self.log_probs = torch.full((len(VOCAB), len(VOCAB)), -1e9)
        for previous, nexts in table.items():
            for word, p in nexts.items():
                self.log_probs[previous, word] = math.log(p)

    def init_state(self, grid, objects=None, image_present=None):
        empty = grid.new_zeros(grid.shape[0], 1)
        return DecoderState(empty, empty, empty.unsqueeze(1), empty.unsqueeze(1))

    def step(self, tokens, state):
        return self.log_probs[tokens], state, None


# Greedy takes "a" (0.55) and then can only go on weakly; "b <end>" is far more probable as a whole.
TABLE = {
    VOCAB.start_id: {A: 0.55, B: 0.45},
    A: {C: 0.36, B: 0.34, END: 0.30},
    B: {END: 0.95, C: 0.05},
    C: {END: 1.0},
}


def exhaustive_best(table, max_len, length_penalty):
    best, best_score = None, -math.inf
    for length in range(1, max_len + 1):
        for words in itertools.product([A, B, C], repeat=length):
            path = [VOCAB.start_id, *words, END]
            p = math.prod(table.get(x, {}).get(y, 0.0) for x, y in itertools.pairwise(path))
            if p > 0 and math.log(p) / (length + 1) ** length_penalty > best_score:
                best, best_score = words, math.log(p) / (length + 1) ** length_penalty
    return best


def test_beam_search_finds_the_best_sequence_greedy_misses():
    model, grid = BigramModel(TABLE), torch.zeros(2, 49, 1)
    expected = exhaustive_best(TABLE, max_len=4, length_penalty=0.7)
    assert expected == (B,)
    assert greedy_decode(model, grid, VOCAB, max_len=4)[0] == (A, C)
    result = beam_search(model, grid, VOCAB, beam_size=3, max_len=4, length_penalty=0.7)
    assert [h.tokens for h in result] == [expected, expected]
    assert math.isclose(result[0].log_prob, math.log(0.45 * 0.95), rel_tol=1e-5)


def test_beam_of_one_equals_greedy_on_a_real_decoder():
    torch.manual_seed(0)
    vocab = Vocabulary.build([[f"w{i}" for i in range(30)]] * 5)
    decoder = CaptionDecoder(DecoderConfig(len(vocab), feature_dim=16, embed_dim=16, hidden_dim=32,
                                           attention_dim=16, context_dim=16, dropout=0.0)).eval()
    grid = torch.randn(6, 49, 16)
    beams = beam_search(decoder, grid, vocab, beam_size=1, max_len=12)
    assert [h.tokens for h in beams] == greedy_decode(decoder, grid, vocab, max_len=12)


def test_never_emits_unknown_words_or_repeated_trigrams_and_stops_at_max_len():
    # A model that loves <unk> and loops "a b a b ..." forever.
    table = {VOCAB.start_id: {VOCAB.unk_id: 0.9, A: 0.1}, A: {B: 0.99, END: 0.01}, B: {A: 0.99, END: 0.01},
             VOCAB.unk_id: {VOCAB.unk_id: 1.0}}
    result = beam_search(BigramModel(table), torch.zeros(1, 49, 1), VOCAB, beam_size=3, max_len=8)[0]
    assert VOCAB.unk_id not in result.tokens
    trigrams = list(zip(result.tokens, result.tokens[1:], result.tokens[2:], strict=False))
    assert len(trigrams) == len(set(trigrams))
    assert 0 < len(result.tokens) < 8
