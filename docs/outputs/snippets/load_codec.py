import json

import numpy as np

from codecfake_builder import load_codec

codec = load_codec("C4", weights="random", seed=0)  # or checkpoint="facebook/encodec_24khz"
wave = np.zeros(24_000 + 17, dtype=np.float32)  # mono float32 at codec.sample_rate
print([len(w) for w in codec.resynthesize([wave, wave[:5000]])])  # padded to the hop, trimmed back
provenance = {key: value for key, value in codec.provenance.items() if key != "versions"}
print(json.dumps(provenance, indent=1))  # plus "versions": codecfake, torch, transformers, ...
