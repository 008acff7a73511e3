"""The neutral foundation every room stands on: atomic I/O, audio decoding, reading a release,
the run's environment, and safe checkpoint reading.

``codecfake_builder`` (making the dataset), ``codecfake_evaluation`` (scoring it) and
``codecfake_detectors`` (the paper's models) all import from here and from :mod:`codecfake`;
nothing here imports them back (``tests/test_layers.py`` holds every package to that).
"""
