"""The baseline's EER on real codec artefacts: leave-one-utterance-out on the VCTK codec samples.

The folder holds a few real VCTK utterances (``genuine+<utt>.wav``) and the same utterances through
public codec checkpoints (``<codec config>+<utt>.wav``). Each fold trains the GMM pair on every
other utterance (its real clip against all its codec versions) and scores the held-out
utterance's clips, so no test utterance is ever heard in training. Scores of all folds are pooled
into one EER. With 5 utterances that is 5 real trials against 75 fakes: a tiny, noisy figure that
says the features see real codec artefacts, not how well the baseline generalises.

    python -m codecfake_detectors.lfcc_gmm.leave_one_out FOLDER   # genuine+*.wav, <codec>+*.wav
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cut import OFFICIAL_INPUT_SAMPLES
from .gmm import GmmPair
from .lfcc import LfccConfig, lfcc
from .stream import crop

GENUINE = "genuine"


def load_features(folder: Path, features: LfccConfig) -> dict[tuple[str, str], np.ndarray]:
    """LFCC of every ``<config>+<utterance>.wav``, decoded to 16 kHz and cropped like the CLI."""
    from codecfake import CodecfakeError
    from codecfake_core.audio import decode_audio_bytes

    clips: dict[tuple[str, str], np.ndarray] = {}
    for path in sorted(folder.glob("*+*.wav")):
        config, utterance = path.stem.split("+", 1)
        waveform = crop(decode_audio_bytes(path.read_bytes()), OFFICIAL_INPUT_SAMPLES)
        clips[config, utterance] = lfcc(waveform, features)
    utterances = {u for c, u in clips if c == GENUINE}
    if len(utterances) < 2:
        raise CodecfakeError(f"{folder}: need genuine+<utt>.wav for at least 2 utterances")
    return clips


def leave_one_out_scores(
    clips: dict[tuple[str, str], np.ndarray], features: LfccConfig, components: int, seed: int
) -> dict[tuple[str, str], float]:
    """Score of every clip from the model trained without its utterance."""
    scores: dict[tuple[str, str], float] = {}
    for held_out in sorted({u for _, u in clips}):
        train = [(c, f) for (c, u), f in clips.items() if u != held_out]
        model = GmmPair.fit(
            np.concatenate([f for c, f in train if c == GENUINE]),
            np.concatenate([f for c, f in train if c != GENUINE]),
            features,
            components=components,
            seed=seed,
        )
        for (config, utterance), frames in clips.items():
            if utterance == held_out:
                scores[config, utterance] = model.score_frames(frames)
    return scores


def report(scores: dict[tuple[str, str], float]) -> list[tuple[str, float, int, int]]:
    """(row name, EER %, n real, n fake): pooled over every codec, then per codec config."""
    from codecfake_evaluation.eer import eer_from_classes

    real = np.array([s for (c, _), s in scores.items() if c == GENUINE])
    by_config: dict[str, list[float]] = defaultdict(list)
    for (config, _), score in scores.items():
        if config != GENUINE:
            by_config[config].append(score)
    rows = [("all codecs (pooled)", np.concatenate(list(by_config.values())))]
    rows += [(config, np.array(values)) for config, values in sorted(by_config.items())]
    return [
        (name, eer_from_classes(real, fake).percent, real.size, fake.size) for name, fake in rows
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folder", type=Path, help="folder of genuine+<utt>.wav and <codec>+<utt>.wav"
    )
    parser.add_argument("--components", type=int, default=16, help="mixture components per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    features = LfccConfig()
    clips = load_features(args.folder, features)
    rows = report(leave_one_out_scores(clips, features, args.components, args.seed))
    print("leave-one-utterance-out EER (fixed polarity, higher score = more real)")
    print(f"{'codec configuration':<52} {'EER %':>7} {'real':>5} {'fake':>5}")
    for name, percent, n_real, n_fake in rows:
        print(f"{name:<52} {percent:>7.2f} {n_real:>5} {n_fake:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
