"""Codec backends behind the Codec contract: transformers models, the SEANet codecs (SoundStream,
SpeechTokenizer, FunCodec) mapped onto one, AudioDec and HiFi-Codec built in, and the weight-free
codecs."""
