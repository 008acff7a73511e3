"""The provenance record of a rebuilt release: one type, written and read in one place.

Records come from a real (weight-free) codec through the writer's own record builder, so a
change in what the writer records shows here; ``prepare`` reads them back through the same type.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake_builder.codecs import load_codec, parse_codec_definition
from codecfake_builder.folder.prepare import _recorded_checkpoints
from codecfake_builder.sources.manifest import Utterance
from codecfake_builder.synthesis.decode import Source
from codecfake_builder.synthesis.provenance import FileRecord, RunLog, iter_records, write_jsonl
from codecfake_builder.synthesis.settings import Settings
from codecfake_builder.synthesis.work import Output
from codecfake_builder.synthesis.writer import BatchWriter


def make_records(tmp_path: Path) -> list[FileRecord]:
    import numpy as np

    codec = load_codec(parse_codec_definition("C8=opus@12kbps"))
    settings = Settings(out=tmp_path, corpora={}, codecs=(codec.spec,), device="cpu")
    log = RunLog(tmp_path / "log.jsonl")
    writer = BatchWriter(settings, {"C8": codec}, log, "cpu")
    try:
        path = "wav48/p225/p225_001.wav"
        utterance = Utterance("p225_001", "p225", "en", path, "text", 16_000, 1.0)
        source = Source(utterance, "VCTK", "ab" * 32, np.zeros(16_000, np.float32), 16_000)
        real = Output("train/p225_001.wav", "p225_001", "train", None, "0")
        fake = Output("test/C8/F08_p225_001.wav", "p225_001", "test", "C8", "8")
        return [
            writer.record(real, "00" * 32, source, None),
            writer.record(fake, "11" * 32, source, codec),
        ]
    finally:
        writer.finish()
        log.close()


def test_a_record_survives_its_line_and_the_line_is_canonical(tmp_path: Path) -> None:
    for record in make_records(tmp_path):
        line = record.to_json()
        assert FileRecord.from_json(line) == record
        assert line.endswith("\n") and "\n" not in line[:-1]
        assert list(json.loads(line)) == sorted(json.loads(line))  # equal records, equal bytes
    real, fake = make_records(tmp_path / "again")
    assert real.condition == "real" and real.codec is None and real.weights_summary() is None
    assert fake.codec is not None and fake.codec["bitrate_kbps"] == 12.0
    assert fake.weights_summary() == "none weights"  # a weight-free codec has no checkpoint


def test_the_log_appends_records_and_reading_skips_only_what_it_is_told_to(tmp_path: Path) -> None:
    records = make_records(tmp_path)
    path = tmp_path / "shard.log.jsonl"
    log = RunLog(path)
    for record in records:
        log.append(record)
    log.close()
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"file": "torn')  # a run killed mid-line
    assert list(iter_records(path)) == records
    failures = tmp_path / "failures.jsonl"
    write_jsonl(
        failures, [{"utterance": "p225_002", "source": None, "condition": None, "error": "x"}]
    )
    assert list(iter_records(failures, skip_others=True)) == []
    with pytest.raises(ValueError, match="not a codecfake provenance record"):
        list(iter_records(failures))


def test_prepare_reads_the_recorded_weights_through_the_record_type(tmp_path: Path) -> None:
    real, fake = make_records(tmp_path)
    hashed = FileRecord(
        **{
            **vars(fake),
            "condition": "C9",
            "checkpoint": {**(fake.checkpoint or {}), "checkpoint": "kyutai/mimi",
                           "weights_sha256": "0123456789abcdef" * 4},
        }
    )  # fmt: skip
    folder = tmp_path / "copied"
    folder.mkdir()
    (folder / "provenance.jsonl").write_text("".join(r.to_json() for r in (real, fake, hashed)))
    write_jsonl(folder / "failures.jsonl", [{"utterance": "u", "error": "unreadable"}])
    found = _recorded_checkpoints(folder, {"C8", "C9"})
    assert found == {"C8": "none weights", "C9": "kyutai/mimi (sha256 0123456789ab)"}
