"""Codec backends behind the Codec contract: transformers models, the SEANet codecs (SoundStream,
FunCodec) mapped onto one, SpeechTokenizer, and the weight-free codecs."""
