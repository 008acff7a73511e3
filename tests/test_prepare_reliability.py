"""`codecfake prepare` on the surprises of the real release: names of no known language, copies of
a shared real clip that differ, a release root below RELEASE_DIR, and the complete-size check.

Nothing may be lost in silence: after every run, each configuration must hold exactly the files
its label files list (worked out from the label files, not from the code under test).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile

import codecfake
import codecfake_cli
from codecfake_builder.folder.plan import (
    PlannedClip,
    ReleaseIndex,
    ReleasePlan,
    check_complete_sizes,
)
from codecfake_core.release_source import ExtractedRelease, LabelFile
from testkit.release_factory import Release, assert_configs_match_labels, make_release, stored_files


@pytest.fixture
def release(tmp_path) -> Release:
    return make_release(tmp_path / "release", conditions=("C1", "C2", "A1", "A2"))


def prepare_cli(capsys, *args: str) -> tuple[int, str, str]:
    rc = codecfake_cli.main(["prepare", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def add_real_row(release: Release, label_file: str, name: str) -> None:
    """A real test clip listed by one condition only, with its copy in that folder."""
    source = next(r for r in release.rows if r.label == "real" and r.split == "test")
    folder = release.root / "test" / Path(label_file).stem
    shutil.copyfile(source.path, folder / name)
    path = release.label_path(label_file)
    path.write_text(path.read_text() + f"{name} real 0\n")


def test_a_name_of_no_known_language_stops_prepare_naming_the_row(release, tmp_path, capsys):
    add_real_row(release, "C1.txt", "p233_1220.wav")
    line = len(release.label_path("C1.txt").read_text().splitlines())
    rc, _, err = prepare_cli(capsys, release.root, tmp_path / "out")
    assert rc == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert f"{release.label_path('C1.txt')}:{line} p233_1220.wav" in err
    assert "pNNN_NNN" in err and "SSBxxxxyyyy" in err and "--allow-unknown-language" in err
    assert not (tmp_path / "out").exists()


def test_the_opt_in_counts_it_under_the_pooled_configurations_only(release, tmp_path, capsys):
    add_real_row(release, "C1.txt", "p233_1220.wav")
    out = tmp_path / "out"
    rc, printed, err = prepare_cli(capsys, release.root, out, "--allow-unknown-language")
    assert rc == 0, err
    stored = stored_files(out)
    assert "p233_1220.wav" in stored["C1"]["test"]
    assert "p233_1220.wav" in stored["all"]["test"]
    for config in ("en_C1", "zh_C1", "en", "zh", "C2", "en_A1"):
        assert "p233_1220.wav" not in stored[config].get("test", []), config
    assert_configs_match_labels(release.root, out)
    assert "1 clips whose language their name does not tell" in printed
    assert "reconciled:" in printed


def test_a_fake_of_no_known_language_is_refused_too(release, tmp_path, capsys):
    clip = next(r for r in release.rows if r.label == "fake" and r.label_file == "C2.txt")
    renamed = "F02_p225_1818.wav"
    clip.path.rename(clip.path.with_name(renamed))
    label = release.label_path("C2.txt")
    label.write_text(label.read_text().replace(clip.file, renamed))
    rc, _, err = prepare_cli(capsys, release.root, tmp_path / "out")
    assert rc == 1 and renamed in err


def test_differing_copies_are_kept_and_each_configuration_reads_its_own(release, tmp_path, capsys):
    real = next(r for r in release.rows if r.label == "real" and r.label_file == "A2.txt")
    a1_copy = release.root / "test" / "A1" / real.file
    samples, rate = soundfile.read(real.path, dtype="float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, samples * 0.5, rate, format="WAV", subtype="FLOAT")
    real.path.write_bytes(buffer.getvalue())  # same size, other samples
    assert real.path.read_bytes() != a1_copy.read_bytes()
    out, cache = tmp_path / "out", str(tmp_path / "cache")
    rc, printed, err = prepare_cli(capsys, release.root, out)
    assert rc == 0, err
    assert "1 shared real clips have differing copies" in printed and real.file in printed
    assert_configs_match_labels(release.root, out)
    for config, folder in (("en_A1", "A1"), ("en_A2", "A2"), ("en_C1", "C1")):
        split = datasets.load_dataset(str(out), config, split="test", cache_dir=cache)
        split = split.cast_column("audio", datasets.Audio(decode=False))
        rows = [r for r in split if r["file"] == real.file]
        assert len(rows) == 1, config
        own = (release.root / "test" / folder / real.file).read_bytes()
        assert rows[0]["audio"]["bytes"] == own, config
    assert "differing copies" in (out / "README.md").read_text()
    manifest = json.loads((out / "codecfake_folder.json").read_text())
    assert any(real.file in entry for entry in manifest["differing_copies"])


def test_identical_copies_still_share_storage(release, tmp_path):
    from codecfake_builder.folder.prepare import prepare

    report = prepare(release.root, tmp_path / "out", progress=False)
    assert report.clips == len(release.stored())
    assert not list((tmp_path / "out" / "data").glob("real-*"))
    assert report.reconciliation.rows_read == len(release.rows)
    assert report.reconciliation.rows_stored == len(release.stored())


def test_a_release_root_a_few_folders_down_is_found(release, tmp_path, capsys):
    extracted = tmp_path / "extracted"
    nested = extracted / "home" / "someone" / "Codecfake"
    nested.parent.mkdir(parents=True)
    shutil.move(release.root, nested)
    rc, _printed, err = prepare_cli(capsys, extracted, tmp_path / "out")
    assert rc == 0, err
    assert f"using the release found at {nested}" in err
    assert_configs_match_labels(nested, tmp_path / "out")


def test_several_release_roots_are_listed(release, tmp_path, capsys):
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    shutil.copytree(release.root, extracted / "one")
    shutil.copytree(release.root, extracted / "two" / "Codecfake")
    rc, _, err = prepare_cli(capsys, extracted, tmp_path / "out")
    assert rc == 1
    assert "holds 2 releases" in err
    assert str(extracted / "one") in err and str(extracted / "two" / "Codecfake") in err


# --------------------------------------------------------------------------------------------
# The complete-size check, on a plan with the full release's counts (no million files)
# --------------------------------------------------------------------------------------------


def full_plan(rename_en_test: bool = False) -> ReleasePlan:
    """A plan holding the complete release's counts per part, as `plan_release` would build it."""
    stems = ["train", "dev", *codecfake.CODEC_CONDITIONS, "A1", "A2", "A3"]
    sources = tuple(
        LabelFile(
            {"train": "train", "dev": "validation"}.get(s, "test"),
            s,
            s if s in ("train", "dev") else f"test/{s}",
            f"/r/label/{s}.txt",
        )
        for s in stems
    )
    plan = ReleasePlan(ExtractedRelease(Path("/r")), ReleaseIndex(sources, codecfake.CONDITIONS))
    plan.present.extend(stems)  # every audio folder there: the plan counts as complete
    parts = {
        part
        for config in codecfake.CONFIGS.values()
        for split_parts in config.parts().values()
        for part in split_parts
    }
    for part in parts:
        size = codecfake.part_size(part)
        if not size:
            continue
        if rename_en_test and part.split == "test" and part.language == "en":
            part = codecfake.Part(part.group, part.split, "")
        clips = [PlannedClip(f"{i}.wav", "real", "0", i, 0, 10) for i in range(size)]
        plan.parts.setdefault(part, []).extend(clips)
    return plan


def test_the_complete_release_passes_the_size_check():
    check_complete_sizes(full_plan())  # raises on any difference


def test_size_differences_on_the_complete_release_are_a_table(capsys):
    with pytest.raises(codecfake.ReleaseError) as caught:
        check_complete_sizes(full_plan(rename_en_test=True))
    message = str(caught.value)
    assert "--no-size-check" in message
    header, *rows = message.splitlines()[1:]
    assert header.split() == ["part", "expected", "found"]
    by_part = {r.split()[0]: (r.split()[1], r.split()[2]) for r in rows}
    assert by_part["data/real/test/en-*.parquet"] == ("4,451", "0")
    assert by_part["data/real/test/audio-*.parquet"] == ("0", "4,451")
    assert by_part["data/C1/test/en-*.parquet"] == ("4,451", "0")
    assert by_part["data/A1/test/en-*.parquet"] == ("4,436", "0")


# --------------------------------------------------------------------------------------------
# The header-only WAV check that spares libsndfile a million calls: it may only say yes when
# libsndfile agrees, and must catch every file that lost samples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2])
def test_the_header_check_accepts_only_what_libsndfile_reads(subtype, channels):
    from codecfake_core.release import wav_layout

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    samples = rng.uniform(-0.5, 0.5, (1_601, channels)).astype("float32")
    soundfile.write(buffer, samples, 16_000, format="WAV", subtype=subtype)
    data = buffer.getvalue()
    layout = wav_layout(data)
    accepted = layout.plain and not layout.problem()
    if accepted:
        assert soundfile.info(io.BytesIO(data)).frames == layout.frames() == 1_601
    if subtype in ("PCM_16", "FLOAT"):
        assert accepted  # what the release and the builder write: the fast path must take it
    start = data.index(b"data") + 8
    end = start + int.from_bytes(data[start - 4 : start], "little")  # a pad byte may follow
    for cut in (1, 2, 3, (end - start) // 2):
        assert wav_layout(data[: end - cut]).problem().startswith("is truncated"), cut
    assert wav_layout(data[:start]).problem().startswith("holds no samples")
    assert wav_layout(b"RIFF\x00\x00\x00\x00WAVEnot really audio") is None
    assert not wav_layout(data.replace(b"fmt ", b"fmx ", 1)).plain


def test_a_re_prepared_or_same_named_folder_never_loads_stale_rows(tmp_path):
    """`datasets` keys a local folder's cache by its name, config and card YAML only; the card's
    per-configuration shard stamp makes new shards a new cache entry."""
    from codecfake_builder.folder.prepare import prepare

    cache = str(tmp_path / "cache")

    def build(where: str, seed: int) -> Path:
        release = make_release(
            tmp_path / where / f"release-{seed}",
            conditions=("C1",),
            seed=seed,
            with_train=False,
            with_dev=False,
        )
        folder = tmp_path / where / "codecfake-data"
        shutil.rmtree(folder, ignore_errors=True)
        prepare(release.root, folder)
        return folder

    def loaded(folder: Path) -> list[bytes]:
        split = datasets.load_dataset(str(folder), "C1", split="test", cache_dir=cache)
        split = split.cast_column("audio", datasets.Audio(decode=False))
        return sorted(row["audio"]["bytes"] for row in split)

    def on_disk(folder: Path) -> list[bytes]:
        return sorted(
            row["bytes"]
            for shard in sorted((folder / "data").rglob("*.parquet"))
            for row in pq.read_table(shard, columns=["audio"]).column("audio").to_pylist()
        )

    first = build("a", seed=1)
    assert loaded(first) == on_disk(first)
    other = build("b", seed=2)  # another folder of the same name
    assert loaded(other) == on_disk(other) != on_disk(first)
    again = build("a", seed=3)  # the first folder, prepared again from another release
    assert loaded(again) == on_disk(again) != on_disk(other)
