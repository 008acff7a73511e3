"""Codec backends behind the Codec contract: transformers models, SpeechTokenizer and the weight-free codecs."""
