"""`codecfake prepare` end to end: a release in the official layout -> a folder every configuration
of which loads, in memory and streaming, with the clips, labels and pairing the release holds.

What a configuration should contain is worked out here from the factory's record of what it
wrote and the issue's rules, never from the code under test.
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile
import soxr
import yaml

import codecfake
import codecfake_cli
from codecfake_builder.folder.prepare import prepare
from codecfake_core.audio import with_fast_audio
from testkit.release_factory import (
    DEFAULT_CONDITIONS,
    Release,
    assert_configs_match_labels,
    dataset_row_key,
    make_release,
    spec_configs,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory, vctk_samples_or_none) -> tuple[Release, Path]:
    """The default factory release (real VCTK clips when the fixtures are there), prepared."""
    root = tmp_path_factory.mktemp("prepare")
    release = make_release(root / "release", vctk_dir=vctk_samples_or_none)
    report = prepare(release.root, root / "codecfake", size_check=False, progress=False)
    assert report.clips == len(release.stored())
    assert_configs_match_labels(release.root, root / "codecfake")
    return release, root / "codecfake"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf-cache"))


ALL_CONFIGS = sorted(spec_configs(DEFAULT_CONDITIONS))


def card_yaml(folder: Path) -> dict:
    return yaml.safe_load(folder.joinpath("README.md").read_text().split("---")[1])


def test_the_card_lists_exactly_the_configurations_with_their_sizes(built):
    release, folder = built
    card = card_yaml(folder)
    configs = spec_configs(DEFAULT_CONDITIONS)
    assert {c["config_name"] for c in card["configs"]} == set(configs)
    assert [c["config_name"] for c in card["configs"] if c.get("default")] == ["all"]
    for info in card["dataset_info"]:
        expected = release.expected_rows(*configs[info["config_name"]])
        assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
            s: len(rows) for s, rows in expected.items()
        }, info["config_name"]
    assert card["license"] == "cc-by-nc-nd-4.0"
    assert card["task_categories"] == ["audio-classification"]
    assert sorted(card["language"]) == ["en", "zh"]
    assert not list(folder.rglob("*.py")), "the dataset folder must never hold a loading script"


def test_every_clip_is_stored_once_with_its_release_bytes(built, cache):
    release, folder = built
    stored = datasets.load_dataset(
        "parquet", data_files=str(folder / "data/**/*.parquet"), split="train", cache_dir=cache
    ).cast_column("audio", datasets.Audio(decode=False))
    files = Counter(stored["file"])
    assert max(files.values()) == 1, "a shared real clip was stored more than once"
    by_file = {clip.file: clip for clip in release.stored()}
    assert set(files) == set(by_file)
    for row in stored:
        assert row["audio"]["bytes"] == by_file[row["file"]].path.read_bytes(), row["file"]


@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_each_configuration_loads_in_memory_and_streaming(built, cache, config):
    release, folder = built
    expected = release.expected_rows(*spec_configs(DEFAULT_CONDITIONS)[config])
    loaded = datasets.load_dataset(str(folder), config, cache_dir=cache)
    assert set(loaded) == set(expected)
    streamed = datasets.load_dataset(str(folder), config, streaming=True)
    assert set(streamed) == set(expected)
    for split, rows in expected.items():
        raw = loaded[split].cast_column("audio", datasets.Audio(decode=False))
        assert sorted(dataset_row_key(r) for r in raw) == rows, (config, split)
        stream_rows = list(streamed[split].cast_column("audio", datasets.Audio(decode=False)))
        assert sorted(dataset_row_key(r) for r in stream_rows) == rows, (config, split)
    first_split = next(iter(expected))
    for source in (loaded[first_split][0], next(iter(streamed[first_split]))):
        audio = source["audio"]
        assert audio["sampling_rate"] == codecfake.SAMPLING_RATE
        assert np.asarray(audio["array"]).ndim == 1 and len(audio["array"]) > 1000


def test_decoded_audio_is_the_release_clip_at_16_khz(built, cache):
    release, folder = built
    test = datasets.load_dataset(str(folder), "all", split="test", cache_dir=cache)
    by_file = {clip.file: clip for clip in release.stored()}
    rates = set()
    for row in test:
        clip = by_file[row["file"]]
        samples, rate = soundfile.read(clip.path, dtype="float32")
        rates.add(rate)
        reference = soxr.resample(samples, rate, 16_000) if rate != 16_000 else samples
        decoded = np.asarray(row["audio"]["array"], dtype=np.float32).reshape(-1)
        assert abs(len(decoded) - len(reference)) <= 2, row["file"]
        n = min(len(decoded), len(reference))
        assert np.abs(decoded[:n] - reference[:n]).max() < 0.05, row["file"]
    assert rates == {16_000, 24_000, 44_100}, "the factory should give fakes at 16/24/44.1 kHz"


@pytest.mark.parametrize(
    "config", [*(f"{lang}C{k}" for lang in ("", "en_", "zh_") for k in range(1, 8))]
)
def test_every_fake_pairs_with_its_real_original(built, cache, config):
    _, folder = built
    loaded = datasets.load_dataset(str(folder), config, cache_dir=cache).remove_columns("audio")
    # C7 resynthesises train and dev utterances too: their reals are in `all`'s other splits.
    scope = (
        loaded
        if not config.endswith("C7")
        else datasets.load_dataset(str(folder), "all", cache_dir=cache).remove_columns("audio")
    )
    real_utterances = {r["utterance"] for split in scope.values() for r in split if r["label"] == 0}
    for split in loaded.values():
        fakes = [r for r in split if r["label"] == 1]
        assert fakes
        for fake in fakes:
            assert fake["utterance"] in real_utterances, (config, fake["file"])
            assert fake["file"].endswith(f"_{fake['utterance']}.wav")


def test_bare_name_loads_from_the_parent_folder(built, cache, monkeypatch):
    release, folder = built
    monkeypatch.chdir(folder.parent)
    loaded = datasets.load_dataset("codecfake", "en_C3", cache_dir=cache)
    expected = release.expected_rows({"C3"}, {"en"})
    assert {s: len(d) for s, d in loaded.items()} == {s: len(r) for s, r in expected.items()}


def test_fast_audio_matches_default_decoding(built, cache):
    _, folder = built
    loaded = datasets.load_dataset(str(folder), "C4", split="test", cache_dir=cache)
    streamed = datasets.load_dataset(str(folder), "C4", split="test", streaming=True)
    fast_rows = list(with_fast_audio(loaded))
    fast_stream = list(with_fast_audio(streamed))
    assert [r["file"] for r in fast_stream] == loaded["file"]
    for default, fast, fast_streamed in zip(loaded, fast_rows, fast_stream, strict=True):
        reference = np.asarray(default["audio"]["array"], dtype=np.float32).reshape(-1)
        for candidate in (fast["audio"], fast_streamed["audio"]):
            assert candidate["sampling_rate"] == 16_000
            array = candidate["array"]
            assert isinstance(array, np.ndarray) and array.dtype == np.float32
            assert abs(len(array) - len(reference)) <= 2
            n = min(len(array), len(reference))
            assert np.abs(array[:n] - reference[:n]).max() < 0.05, default["file"]
    assert fast_rows[0]["label"] == loaded[0]["label"]


def test_fast_audio_on_a_dataset_dict(built, cache):
    _, folder = built
    loaded = datasets.load_dataset(str(folder), "en_C1", cache_dir=cache)
    fast = with_fast_audio(loaded)
    assert set(fast) == {"train", "validation", "test"}
    assert fast["validation"][0]["audio"]["sampling_rate"] == 16_000


def test_real_vctk_clips_decode_to_the_genuine_recordings(vctk_samples, built, cache):
    _, folder = built
    reals = datasets.load_dataset(str(folder), "en_C1", split="test", cache_dir=cache)
    checked = 0
    for row in reals:
        if row["label"] == 0:
            genuine, rate = soundfile.read(vctk_samples / f"genuine+{row['file']}", dtype="float32")
            assert rate == 16_000
            decoded = np.asarray(row["audio"]["array"], dtype=np.float32).reshape(-1)
            np.testing.assert_allclose(decoded, genuine, atol=1e-4)
            checked += 1
    assert checked == 2


def test_a_partial_release_gives_exactly_the_configurations_it_holds(tmp_path, cache):
    release = make_release(
        tmp_path / "release", conditions=("C2", "C7", "A3"), with_train=False, with_dev=False
    )
    report = prepare(release.root, tmp_path / "out", progress=False)
    assert_configs_match_labels(release.root, tmp_path / "out")
    configs = spec_configs(("C2", "C7", "A3"))
    assert {c.name for c in report.configs} == set(configs)
    for config in report.configs:
        expected = release.expected_rows(*configs[config.name])
        assert config.sizes == {s: len(r) for s, r in expected.items()}
        assert set(config.sizes) == {"test"}
    loaded = datasets.load_dataset(str(tmp_path / "out"), "all", cache_dir=cache)
    assert set(loaded) == {"test"}
    assert len(loaded["test"]) == len(release.expected_rows({"C2", "C7"}, {"en", "zh"})["test"])


def test_the_cli_prints_sizes_and_reports_extra_files(tmp_path, cache, capsys):
    release = make_release(
        tmp_path / "release", conditions=("C1",), with_train=False, with_dev=False
    )
    stray = release.root / "test" / "C1" / "F01_unlisted_999.wav"
    stray.write_bytes(release.rows[-1].path.read_bytes())
    unlabelled = release.root / "test" / "C3-2" / "C3-2_p226_201.wav"  # no label/C3-2.txt
    unlabelled.parent.mkdir()
    unlabelled.write_bytes(release.rows[-1].path.read_bytes())
    rc = codecfake_cli.main(
        ["prepare", str(release.root), str(tmp_path / "out"), "--num-proc", "2"]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert "2 audio files on disk are named by no label file" in err
    assert str(stray) in err and str(unlabelled) in err
    assert "en_C1" in out and "all" in out
    stored = datasets.load_dataset(
        str(tmp_path / "out"), "C1", split="test", cache_dir=cache
    ).remove_columns("audio")
    assert "F01_unlisted_999.wav" not in stored["file"]


def test_small_shards_split_a_part_and_still_load(tmp_path, cache):
    release = make_release(tmp_path / "release", conditions=("C7",), n_zh=4, with_train=False)
    prepare(release.root, tmp_path / "out", max_shard_bytes=40_000, num_proc=2, progress=False)
    shards = sorted((tmp_path / "out" / "data" / "C7" / "test").glob("zh-*.parquet"))
    assert len(shards) > 1
    assert shards[0].name == f"zh-00000-of-{len(shards):05d}.parquet"
    loaded = datasets.load_dataset(str(tmp_path / "out"), "zh_C7", split="test", cache_dir=cache)
    assert len(loaded) == len(release.expected_rows({"C7"}, {"zh"})["test"])


def test_rerunning_on_the_same_release_replaces_the_folder_identically(tmp_path):
    release = make_release(
        tmp_path / "release", conditions=("C1",), with_train=False, with_dev=False
    )
    prepare(release.root, tmp_path / "out", progress=False)
    before = {p: p.read_bytes() for p in sorted((tmp_path / "out").rglob("*")) if p.is_file()}
    prepare(release.root, tmp_path / "out", progress=False)
    after = {p: p.read_bytes() for p in sorted((tmp_path / "out").rglob("*")) if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "release"]


def test_a_wav_is_stored_untouched_even_when_it_is_float(tmp_path, cache):
    release = make_release(
        tmp_path / "release", conditions=("C5",), with_train=False, with_dev=False
    )
    prepare(release.root, tmp_path / "out", progress=False)
    raw = datasets.load_dataset(
        str(tmp_path / "out"), "zh_C5", split="test", cache_dir=cache
    ).cast_column("audio", datasets.Audio(decode=False))
    subtypes = {soundfile.info(io.BytesIO(r["audio"]["bytes"])).subtype for r in raw}
    assert subtypes == {"FLOAT", "PCM_16"}


def test_label_files_whose_audio_was_not_downloaded_are_left_out(tmp_path, cache):
    """Every label file, but the train archive not extracted: the rest is prepared, and the
    release does not count as complete (no size check against the full counts)."""
    codecs = ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
    release = make_release(tmp_path / "release", conditions=codecs, n_en=1, n_zh=1)
    shutil.rmtree(release.root / "train")
    report = prepare(release.root, tmp_path / "out", progress=False)
    assert_configs_match_labels(release.root, tmp_path / "out")
    assert report.unextracted == [
        f"{release.label_path('train.txt')} ({release.root / 'train'} is absent)"
    ]
    kept = Release(release.root, [r for r in release.rows if r.label_file != "train.txt"])
    configs = {c.name: c.sizes for c in report.configs}
    assert set(configs) == set(spec_configs(codecs))
    for name, (conditions, languages) in spec_configs(codecs).items():
        expected = kept.expected_rows(conditions, languages)
        assert configs[name] == {s: len(r) for s, r in expected.items()}, name
    loaded = datasets.load_dataset(str(tmp_path / "out"), "en_C1", cache_dir=cache)
    assert set(loaded) == {"validation", "test"}
