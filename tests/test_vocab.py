from photocap.model.vocab import SPECIAL_TOKENS, Vocabulary, tokenize


def test_tokenize_lowercases_and_strips_punctuation():
    assert tokenize("A dog's toy, on the BEACH!") == ["a", "dogs", "toy", "on", "the", "beach"]


def test_build_keeps_words_seen_min_count_times_most_frequent_first():
    captions = [["dog", "runs"], ["dog", "sits"], ["dog", "runs"], ["cat"]]
    vocab = Vocabulary.build(captions, min_count=2)
    assert vocab.words == SPECIAL_TOKENS + ("dog", "runs")


def test_encode_decode_round_trip_and_unknown_words():
    vocab = Vocabulary.build([["a", "dog", "runs"]] * 5, min_count=5)
    ids = vocab.encode(["a", "zebra", "runs"])
    assert ids[0] == vocab.start_id and ids[-1] == vocab.end_id
    assert ids[2] == vocab.unk_id
    assert vocab.decode(ids) == "a runs"  # <unk> and the markers are not words of a caption
    assert vocab.decode(vocab.encode(["a", "dog"]) + vocab.encode(["runs"])) == "a dog"  # stops at <end>


def test_json_round_trip():
    vocab = Vocabulary.build([["a", "dog"]] * 5)
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    assert Vocabulary.from_json(vocab.to_json()).id_of("dog") == vocab.id_of("dog")
