"""The offline demo: the one package that joins every step (synthetic corpora, codecs,
``prepare``, the LFCC-GMM baseline, the evaluation), above them all; nothing imports it but the
command line."""
