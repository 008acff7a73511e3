import datasets

from codecfake_core import with_fast_audio

test = datasets.load_dataset("codecfake-data", "en_C3", split="test")
fast = with_fast_audio(test)  # also a DatasetDict, or a streamed split
audio = fast[0]["audio"]
print(audio["sampling_rate"], audio["array"].dtype, audio["array"].shape)
