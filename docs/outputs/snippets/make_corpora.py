from codecfake_builder.sources.synthetic import make_synthetic_corpora

# a small corpus in the real VCTK 0.92 and AISHELL-3 layouts, spoken by the built-in synthesiser
corpora = make_synthetic_corpora(
    "corpora", speakers_per_language=2, utterances_per_speaker=4, engine="formant"
)
print(corpora.vctk, corpora.aishell3)
