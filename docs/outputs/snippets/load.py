import datasets

ds = datasets.load_dataset("codecfake-data", "en_C3")  # the folder ./codecfake-data, by its name
print(ds)
row = ds["test"][0]
print(row["file"], ds["test"].features["label"].int2str(row["label"]), row["utterance"])
print(row["audio"]["sampling_rate"], row["audio"]["array"].shape)
