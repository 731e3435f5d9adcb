"""The captioner: encoder, attention LSTM decoder, beam search, the ImageNet tagger and the caption chooser.

captioner.py puts them together; encoder.py, decoder.py, beam.py, tags.py and chooser.py are the parts;
checkpoint.py, vocab.py and installed.py load what ships; tag_vocabulary.py is the tag words, their map and
thresholds, in plain Python (the catalog and search read it without torch). It imports nothing of photocap but
media/ (to decode photos), metadata/ and atomic: never the catalog or search.
"""

MAY_IMPORT = ("media", "metadata", "atomic", "wording")
