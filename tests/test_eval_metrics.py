"""minDCF, actDCF, CLLR and minCLLR: hand-computed cases, properties, and the eval wiring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codecfake_cli
from codecfake_evaluation import evaluate
from codecfake_evaluation.cllr import cllr, min_cllr, pav
from codecfake_evaluation.dcf import ASVSPOOF5, CostModel, act_dcf, dcf_at, min_dcf
from codecfake_evaluation.eer import EvaluationError
from codecfake_evaluation.llr import ScoreKindError, check_score_kind, to_llr
from codecfake_evaluation.table import JSON_KEYS, Group, evaluate_groups

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
scores = st.lists(finite, min_size=1, max_size=40)
grid = st.lists(st.integers(-40, 40).map(lambda k: k / 4), min_size=1, max_size=40)


# --------------------------------------------------------------------------------------------
# The ASVspoof 5 normalisation, by hand
# --------------------------------------------------------------------------------------------


def test_asvspoof5_costs_and_threshold() -> None:
    assert (ASVSPOOF5.p_spoof, ASVSPOOF5.c_miss, ASVSPOOF5.c_fa) == (0.05, 1.0, 10.0)
    # min(C_miss * P_bona, C_fa * P_spoof) = min(0.95, 0.5)
    assert ASVSPOOF5.default_cost == pytest.approx(0.5)
    assert ASVSPOOF5.bayes_threshold == pytest.approx(math.log(0.5 / 0.95))  # -0.642


def test_trivial_systems_score_one_and_one_point_nine() -> None:
    real, fake = [1.0, 2.0, -2.0], [-3.0, 0.0]
    assert dcf_at(real, fake, -10.0) == pytest.approx(1.0)  # accept all: 10 * 0.05 / 0.5
    assert dcf_at(real, fake, 10.0) == pytest.approx(1.9)  # reject all: 1 * 0.95 / 0.5


def test_hand_computed_act_and_min_dcf() -> None:
    real, fake = [1.0, 2.0, -2.0], [-3.0, 0.0]
    # Threshold -0.642: real -2 is missed (1/3), fake 0 is accepted (1/2).
    assert act_dcf(real, fake) == pytest.approx((0.95 / 3 + 0.5 / 2) / 0.5)
    # Sorted -3f -2r 0f 1r 2r; rejecting the lowest trial only (a fake) leaves P_fa 1/2, P_miss 0.
    # Every other cut costs more: 1, 1.133, 0.633, 1.267, 1.9.
    assert min_dcf(real, fake) == pytest.approx(0.5)
    assert min_dcf([1.0, 2.0], [-1.0, 0.0]) == 0.0


def test_normaliser_when_rejecting_everything_is_the_better_trivial_system() -> None:
    costs = CostModel(p_spoof=0.9, c_miss=1.0, c_fa=10.0)  # min(0.1, 9) = 0.1
    assert costs.default_cost == pytest.approx(0.1)
    assert dcf_at([0.0], [1.0], -5.0, costs) == pytest.approx(90.0)  # accept all: 9 / 0.1
    assert dcf_at([0.0], [1.0], 5.0, costs) == pytest.approx(1.0)  # reject all
    assert min_dcf([0.0], [1.0], costs) == pytest.approx(1.0)


@settings(deadline=None)  # a shared machine: timings say nothing here
@given(
    st.floats(0.001, 0.999),
    st.floats(0.01, 100),
    st.floats(0.01, 100),
)
def test_the_better_trivial_system_always_scores_one(p_spoof, c_miss, c_fa) -> None:
    costs = CostModel(p_spoof, c_miss, c_fa)
    accept_all = dcf_at([0.0], [0.0], -1.0, costs)
    reject_all = dcf_at([0.0], [0.0], 1.0, costs)
    assert min(accept_all, reject_all) == pytest.approx(1.0)
    assert min_dcf([0.0], [0.0], costs) <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("p_spoof", "c_miss", "c_fa"), [(0.0, 1.0, 10.0), (1.0, 1.0, 10.0), (0.05, 0.0, 10.0)]
)
def test_cost_model_refuses_impossible_values(p_spoof, c_miss, c_fa) -> None:
    with pytest.raises(EvaluationError):
        CostModel(p_spoof, c_miss, c_fa)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(deadline=None)  # a shared machine: timings say nothing here
@given(scores, scores)
def test_min_dcf_never_exceeds_act_dcf(real, fake) -> None:
    assert min_dcf(real, fake) <= act_dcf(real, fake) + 1e-12


@settings(deadline=None)  # a shared machine: timings say nothing here
@given(grid, grid, st.integers(-400, 400).map(lambda k: k / 4))
def test_act_dcf_is_unchanged_when_llrs_and_threshold_shift_together(real, fake, shift) -> None:
    """Adding the same log-odds to every LLR and to the threshold leaves each decision as it was.

    Scores and shifts lie on a quarter grid, so the shifted scores are exact in float64.
    """
    real, fake = np.array(real), np.array(fake)
    moved = dcf_at(real + shift, fake + shift, ASVSPOOF5.bayes_threshold + shift)
    assert moved == act_dcf(real, fake)


@settings(deadline=None)  # a shared machine: timings say nothing here
@given(scores, scores)
def test_min_cllr_never_exceeds_cllr(real, fake) -> None:
    assert min_cllr(real, fake) <= cllr(real, fake) + 1e-9


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.25, 6.0),
    st.integers(0, 2**32 - 1),
    st.sampled_from([(0.7, 0.0), (1.4, 0.0), (1.0, 0.4), (1.0, -0.4), (0.8, 0.3), (1.25, -0.3)]),
)
def test_cllr_is_lowest_for_calibrated_gaussian_llrs(separation, seed, miscalibration) -> None:
    """LLRs drawn N(+m, 2m) for real and N(-m, 2m) for fake are their own LLRs (calibrated).

    Any affine distortion of them costs more, and PAV cannot do much better than them.
    """
    rng = np.random.default_rng(seed)
    spread = math.sqrt(2 * separation)
    real = rng.normal(separation, spread, 20_000)
    fake = rng.normal(-separation, spread, 20_000)
    scale, offset = miscalibration
    calibrated = cllr(real, fake)
    assert calibrated < cllr(scale * real + offset, scale * fake + offset)
    assert min_cllr(real, fake) <= calibrated < min_cllr(real, fake) + 0.01


def test_calibrated_gaussian_cllr_matches_its_integral() -> None:
    """The sample CLLR against the expectation, integrated numerically (an independent route)."""
    from scipy import integrate, stats

    m = 1.5
    spread = math.sqrt(2 * m)
    density = stats.norm(m, spread).pdf
    expected, _ = integrate.quad(lambda x: density(x) * np.logaddexp(0, -x) / math.log(2), -40, 40)
    rng = np.random.default_rng(7)
    real = rng.normal(m, spread, 200_000)
    fake = rng.normal(-m, spread, 200_000)
    assert cllr(real, fake) == pytest.approx(expected, abs=0.005)  # both halves equal by symmetry


# --------------------------------------------------------------------------------------------
# CLLR and PAV by hand, and PAV against scikit-learn
# --------------------------------------------------------------------------------------------


def test_hand_computed_cllr() -> None:
    assert cllr([0.0], [0.0]) == pytest.approx(1.0)  # "can't tell" costs one bit
    # llr +-log 3 on the right side: log2(1 + 1/3) for each half.
    assert cllr([math.log(3)], [-math.log(3)]) == pytest.approx(math.log2(4 / 3))
    assert cllr([40.0], [-40.0]) == pytest.approx(0.0, abs=1e-15)


def test_hand_computed_min_cllr() -> None:
    assert min_cllr([1.0, 2.0], [-1.0, 0.0]) == 0.0  # separable: PAV makes certain LLRs
    # One tied block: its posterior is the set's prior, so the LLR is 0 and costs one bit.
    assert min_cllr([0.0, 0.0], [0.0, 0.0, 0.0]) == pytest.approx(1.0)
    # Reversed scores: PAV pools everything into one block.
    assert min_cllr([-1.0, -2.0], [1.0, 2.0]) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-6, 6), st.booleans()), min_size=2, max_size=60),
)
def test_pav_matches_scikit_learn_isotonic_regression(trials) -> None:
    from sklearn.isotonic import IsotonicRegression

    values = np.array([float(s) for s, _ in trials])
    labels = np.array([r for _, r in trials])
    expected = IsotonicRegression().fit_transform(values, labels.astype(float))
    np.testing.assert_allclose(pav(values, labels), expected, atol=1e-12)


# --------------------------------------------------------------------------------------------
# What the scores mean
# --------------------------------------------------------------------------------------------


def test_probabilities_become_finite_llrs() -> None:
    llr = to_llr(np.array([0.0, 0.2, 0.5, 0.8, 1.0]), "prob")
    assert np.isfinite(llr).all()
    np.testing.assert_allclose(llr[1:4], [math.log(0.25), 0.0, math.log(4)], atol=1e-12)
    assert llr[0] == -llr[-1] == pytest.approx(-36.7, abs=0.05)
    np.testing.assert_array_equal(to_llr(np.array([3.0, -2.0]), "llr"), [3.0, -2.0])
    with pytest.raises(ScoreKindError, match=r"outside \[0, 1\].*--scores llr"):
        to_llr(np.array([0.5, 1.5]), "prob")


def test_scores_in_the_unit_interval_need_a_kind_for_llr_metrics() -> None:
    unit = [np.array([0.1, 0.9]), np.array([0.0, 1.0])]
    with pytest.raises(
        ScoreKindError, match=r"actDCF must be computed on log-likelihood ratios.*--scores prob"
    ):
        check_score_kind(unit, None, ["actDCF"])
    check_score_kind(unit, "prob", ["actDCF"])
    check_score_kind(unit, None, [])  # minDCF and minCLLR only rank
    check_score_kind([np.array([0.5]), np.array([-0.5])], None, ["CLLR"])  # not [0, 1]: LLRs


def test_table_metrics_follow_the_orientation_the_eer_chose() -> None:
    """Under free polarity, -s scores the same on every metric as s does under fixed polarity."""
    rng = np.random.default_rng(1)
    real, fake = rng.normal(1, 1, 300), rng.normal(-1, 1, 300)
    metrics = ("eer", "mindcf", "actdcf", "cllr")
    fixed = evaluate_groups([Group("C1", "all", real, fake)], "fixed", 0, metrics=metrics)
    flipped = evaluate_groups([Group("C1", "all", -real, -fake)], "free", 0, metrics=metrics)
    assert flipped[0].flipped
    for key in ("eer", "mindcf", "actdcf", "cllr", "mincllr"):
        assert getattr(flipped[0], key) == pytest.approx(getattr(fixed[0], key)), key
    assert fixed[0].actdcf == pytest.approx(act_dcf(real, fake))
    assert fixed[0].mincllr == pytest.approx(min_cllr(real, fake))


# --------------------------------------------------------------------------------------------
# codecfake eval --metrics / --scores, and the notebook API
# --------------------------------------------------------------------------------------------


def _probability_files(folder: Path) -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """C1 and C2 score files of softmax-like outputs, and each condition's real/fake scores."""
    rng = np.random.default_rng(5)
    real = 1 / (1 + np.exp(-rng.normal(2, 1.5, 60)))
    reals = [f"p225_{k:03d}.wav {float(s)!r} real" for k, s in enumerate(real)]
    paths, expected = [], {}
    for index, name in enumerate(("C1", "C2"), start=1):
        fake = 1 / (1 + np.exp(-rng.normal(-1 - index, 1.5, 60)))
        fakes = [f"F0{index}_p225_{k:03d}.wav {float(s)!r} fake" for k, s in enumerate(fake)]
        path = folder / f"{name}_result.txt"
        path.write_text("\n".join(reals + fakes) + "\n")
        paths.append(str(path))
        expected[name] = (real, fake)
    return paths, expected


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def test_eval_json_rows_carry_the_metrics_asked(tmp_path, capsys) -> None:
    files, expected = _probability_files(tmp_path)
    argv = ["eval", "--json", "--bootstrap", "0", "--metrics", "eer,mindcf,actdcf,cllr"]
    assert codecfake_cli.main([*argv, "--scores", "prob", *files]) == 0
    rows = {r["condition"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == ["C1", "C2", "CAVG"]
    for name, (real, fake) in expected.items():
        row = rows[name]
        assert tuple(row) == (*JSON_KEYS, "mindcf", "actdcf", "cllr", "mincllr")
        assert row["mindcf"] == pytest.approx(min_dcf(real, fake))
        assert row["actdcf"] == pytest.approx(act_dcf(_logit(real), _logit(fake)))
        assert row["cllr"] == pytest.approx(cllr(_logit(real), _logit(fake)))
        assert row["mincllr"] == pytest.approx(min_cllr(real, fake))
    assert rows["CAVG"]["cllr"] == pytest.approx((rows["C1"]["cllr"] + rows["C2"]["cllr"]) / 2)
    # The default is the paper's table: the EER's keys only.
    assert codecfake_cli.main(["eval", "--json", "--bootstrap", "0", *files]) == 0
    assert all(tuple(r) == JSON_KEYS for r in json.loads(capsys.readouterr().out))
    # minDCF alone ranks, so probabilities need no --scores; the text table shows its column.
    assert codecfake_cli.main(["eval", "--bootstrap", "0", "--metrics", "mindcf", *files]) == 0
    assert "minDCF" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--metrics", "actdcf"],
            "actDCF must be computed on log-likelihood ratios, but every score lies in [0, 1]",
        ),
        (["--metrics", "cllr"], "CLLR must be computed on log-likelihood ratios"),
    ],
)
def test_llr_metrics_refuse_probabilities_in_one_line(tmp_path, capsys, extra, message) -> None:
    files, _ = _probability_files(tmp_path)
    assert codecfake_cli.main(["eval", "--bootstrap", "0", *extra, *files]) == 1
    err = capsys.readouterr().err
    assert message in err and "--scores prob" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_prob_kind_refuses_scores_outside_the_unit_interval(tmp_path, capsys) -> None:
    path = tmp_path / "C1_result.txt"
    path.write_text("p225_001.wav 2.5 real\nF01_p225_001.wav -1.0 fake\n")
    argv = ["eval", "--bootstrap", "0", "--metrics", "cllr", "--scores", "prob", str(path)]
    assert codecfake_cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "lie outside [0, 1]" in err and err.count("\n") == 1


def test_unknown_metric_is_a_usage_error(tmp_path, capsys) -> None:
    files, _ = _probability_files(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        codecfake_cli.main(["eval", "--metrics", "eer,auc", *files])
    assert exit_.value.code == 2
    assert "expected a comma-separated list of eer, mindcf" in capsys.readouterr().err


def test_api_takes_the_metrics_too(tmp_path) -> None:
    _files, expected = _probability_files(tmp_path)
    real, fake = expected["C1"]
    data = {
        "file": [f"r{k}.wav" for k in range(real.size)]
        + [f"F01_x{k}.wav" for k in range(fake.size)],
        "label": ["real"] * real.size + ["fake"] * fake.size,
        "condition": ["real"] * real.size + ["C1"] * fake.size,
        "language": ["en"] * (real.size + fake.size),
    }
    values = np.concatenate((real, fake))
    with pytest.raises(ScoreKindError, match="score_kind="):
        evaluate(data, values, resamples=0, metrics=("cllr",))
    table = evaluate(data, values, resamples=0, metrics=("cllr", "actdcf"), score_kind="prob")
    assert table.get("C1").cllr == pytest.approx(cllr(_logit(real), _logit(fake)))
    assert table.get("C1").mindcf is None
    pandas = pytest.importorskip("pandas")
    assert isinstance(table.to_pandas(), pandas.DataFrame)
    assert "cllr" in table.to_pandas().columns
