"""The codec registry: paper conditions, added conditions (C8+) as values, option parsing, clear
errors. No fixture resets anything: parsing a definition registers nothing."""

from __future__ import annotations

import copy

import pytest

import codecfake
from codecfake_builder.codecs import (
    BUILTIN_SPECS,
    FAMILIES,
    PAPER_SPECS,
    CodecError,
    CodecSpecError,
    MissingPluginError,
    UnknownConditionError,
    check_loadable,
    condition_names,
    define_condition,
    get_spec,
    load_codec,
    lossy_condition,
    parse_checkpoint_overrides,
    parse_codec_definition,
    parse_codec_definitions,
    release_condition,
)


def test_every_paper_codec_condition_has_a_spec_that_matches_the_benchmark() -> None:
    codec_conditions = [n for n, c in codecfake.CONDITIONS.items() if c.kind != "alm"]
    assert sorted(PAPER_SPECS) == sorted(codec_conditions)
    for name in codec_conditions:
        spec, condition = get_spec(name), codecfake.CONDITIONS[name]
        assert (spec.sample_rate, spec.bitrate_kbps, spec.quantizers) == (
            condition.sample_rate,
            condition.bitrate_kbps,
            condition.quantizers,
        )
        assert FAMILIES[spec.family].display == condition.codec
        assert release_condition(spec) is condition
    assert get_spec("C4").checkpoint == "facebook/encodec_24khz"
    assert get_spec("C7").checkpoint == "descript/dac_44khz"
    assert get_spec("C3-2").family == "funcodec" and get_spec("C1").checkpoint is None


def test_unknown_and_non_codec_conditions_are_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownConditionError, match=r"'C42'.*C1, C2.*C8 and up"):
        get_spec("C42")
    with pytest.raises(UnknownConditionError, match=r"A1 is VALL-E.*cannot be resynthesised"):
        get_spec("A1")
    assert isinstance(UnknownConditionError("x"), codecfake.CodecfakeError)


def test_a_definition_string_makes_a_release_condition() -> None:
    spec = parse_codec_definition("C8=mimi:kyutai/mimi@1.1kbps")
    assert (spec.family, spec.checkpoint, spec.bitrate_kbps) == ("mimi", "kyutai/mimi", 1.1)
    assert get_spec("C8", {"C8": spec}) == spec and "C8" in condition_names({"C8": spec})
    condition = release_condition(spec)
    assert (condition.name, condition.prefix, condition.label_idx) == ("C8", "F08_", "8")
    assert condition.codec == "Mimi" and condition.splits == ("test",)
    assert codecfake.parse_file_name("F08_p225_001.wav").condition == "C8"
    assert codecfake.Condition.from_dict(condition.to_dict()) == condition  # conditions.json


@pytest.mark.parametrize(
    ("text", "family", "checkpoint", "kbps", "quantizers", "rate"),
    [
        (
            "C9=encodec:/models/encodec_24khz@q16",
            "encodec",
            "/models/encodec_24khz",
            None,
            16,
            24000,
        ),
        ("C10=dac", "dac", "descript/dac_44khz", None, None, 44100),
        ("C11=mp3@24kbps,24khz", "mp3", None, 24.0, None, 24000),
        ("C12=soundstream:/ckpt/ss.pt@4kbps,q8,16khz", "soundstream", "/ckpt/ss.pt", 4.0, 8, 16000),
    ],
)
def test_definition_settings(text, family, checkpoint, kbps, quantizers, rate) -> None:
    spec = parse_codec_definition(text)
    assert (spec.family, spec.checkpoint, spec.bitrate_kbps) == (family, checkpoint, kbps)
    assert (spec.quantizers, spec.sample_rate) == (quantizers, rate)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("C8 mimi", "NAME=FAMILY"),
        ("C4=mimi", "named C8, C9"),
        ("X1=mimi", "named C8, C9"),
        ("C8=mimi@fast", "unknown setting 'fast'"),
        ("C8=myplugin", "give its rate"),
        ("C8=opus", "needs a bitrate"),
        ("C8=opus@12kbps,44100hz", "Opus runs at"),
        ("C8=mp3@200kbps", "8 to 160 kbps"),
    ],
)
def test_bad_definitions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CodecSpecError, match=message):
        parse_codec_definition(text)


def test_parsing_a_definition_leaves_the_built_in_registry_unchanged() -> None:
    before = copy.deepcopy(dict(BUILTIN_SPECS)), list(condition_names())
    spec = parse_codec_definition("C8=mimi:kyutai/mimi@1.1kbps")
    lossy_condition("opus", kbps=12, name="C9")
    assert (dict(BUILTIN_SPECS), condition_names()) == before
    assert "C8" not in condition_names()
    with pytest.raises(UnknownConditionError, match="'C8'"):
        get_spec("C8")  # known only to whoever holds the spec
    with pytest.raises(TypeError):
        BUILTIN_SPECS["C8"] = spec  # type: ignore[index]  # the table is read-only
    with pytest.raises(TypeError):
        FAMILIES["mimi"] = FAMILIES["dac"]  # type: ignore[index]


def test_redefining_a_number_differently_is_refused_but_repeating_it_is_fine() -> None:
    first = lossy_condition("opus", kbps=12, name="C8")
    assert lossy_condition("opus", kbps=12, name="C8") == first
    assert parse_codec_definitions(["C8=opus@12kbps", "C8=opus@12kbps"]) == {"C8": first}
    with pytest.raises(CodecSpecError, match="C8 is defined twice, as C8: opus at 12 kbps"):
        parse_codec_definitions(["C8=opus@12kbps", "C8=opus@16kbps"])
    condition = release_condition(first)
    assert (
        condition.codec == "Opus 12 kbps"
        and "not one of the paper's codecs" in condition.description
    )
    with pytest.raises(CodecSpecError, match="weight-free codecs are"):
        lossy_condition("encodec", kbps=6, name="C9")


def test_identity_is_loadable_but_never_a_release_name() -> None:
    assert get_spec("identity").family == "identity"
    with pytest.raises(CodecSpecError, match="C8=identity"):
        release_condition(get_spec("identity"))
    assert release_condition(define_condition("C8", "identity")).codec == "identity"


def test_checkpoint_overrides() -> None:
    given = ["C4=facebook/encodec_24khz", "C7 = /models/dac_44khz", "C4=facebook/encodec_24khz"]
    assert parse_checkpoint_overrides(given) == {
        "C4": "facebook/encodec_24khz",
        "C7": "/models/dac_44khz",
    }
    with pytest.raises(CodecSpecError, match="expected CONDITION=PATH_OR_HUB_ID"):
        parse_checkpoint_overrides(["C4"])
    with pytest.raises(CodecSpecError, match="gives C4 twice"):
        parse_checkpoint_overrides(["C4=a", "C4=b"])
    with pytest.raises(UnknownConditionError, match="'C99'"):
        parse_checkpoint_overrides(["C99=x"])
    added = parse_codec_definitions(["C9=mimi"])
    assert parse_checkpoint_overrides(["C9=/models/mimi"], added) == {"C9": "/models/mimi"}
    with pytest.raises(UnknownConditionError, match="'C9'"):
        parse_checkpoint_overrides(["C9=/models/mimi"])  # not defined in this run


@pytest.mark.parametrize(
    ("condition", "family"),
    [("C1", "soundstream"), ("C3-2", "funcodec")],
)
def test_plugin_families_fail_at_once_saying_what_to_register(condition: str, family: str) -> None:
    message = (
        rf"{condition} needs .* '{family} = your_module:make_codec' in the group 'codecfake.codecs'"
    )
    with pytest.raises(MissingPluginError, match=message):
        load_codec(condition, weights="random")
    with pytest.raises(MissingPluginError):
        check_loadable(["C4", condition])


def test_an_added_spec_loads_by_value_and_its_name_alone_does_not() -> None:
    spec = lossy_condition("opus", kbps=12, name="C8")
    check_loadable([spec])
    codec = load_codec(spec)
    assert codec.spec == spec and codec.provenance["condition"] == "C8"
    with pytest.raises(UnknownConditionError):
        load_codec("C8")


def test_weights_must_be_pretrained_or_random() -> None:
    with pytest.raises(CodecError, match="pretrained or random"):
        load_codec("C4", weights="trained")


def test_codecs_command_lists_definitions_with_what_runs_here(capsys) -> None:
    import json

    from codecfake_cli import main

    assert main(["codecs", "--codec", "C8=opus@12kbps", "--json"]) == 0
    rows = {row["condition"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["C8"]["family"] == "opus" and rows["C8"]["status"] == "ready"
    assert rows["C1"]["status"].startswith("needs a plugin: 'soundstream'")
    assert set(PAPER_SPECS) <= set(rows)
