from itertools import islice

import datasets

stream = datasets.load_dataset("codecfake-data", "C7", split="test", streaming=True)
mandarin_fakes = stream.filter(lambda row: row["language"] == "zh" and row["label"] == 1)
for row in islice(mandarin_fakes, 2):
    print(row["file"], row["condition"], row["codec"], row["audio"]["array"].shape)
