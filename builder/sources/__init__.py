"""Source corpora: one module per corpus, each a pure ``prepare_<corpus>(corpus_dir)`` that lists
its utterances as :class:`~codecfake_builder.sources.manifest.Utterance` records. Nothing here decodes
audio beyond a file header, so listing a full corpus stays cheap."""
