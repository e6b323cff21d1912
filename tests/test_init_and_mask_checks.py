"""The initializer checks (range attained, independence, their false-alarm rates) and the masked
per-sample checks, on matrices and outputs made by hand."""
import math

import numpy as np
import pytest

from conformance.judging.checks import Context, attains_false_alarm, evaluate
from conformance.running.actions import Case

ATTAINS = {"check": "attains", "of": "m", "low": -0.05, "high": 0.05, "margin": 0.0004}
INDEPENDENT = {"check": "independent", "of": "m", "alpha": 1e-6}
UNIFORM = {"check": "uniform", "of": "m", "low": -0.05, "high": 0.05, "alpha": 0.001}


def ev(obs, check, ref=None, case=None):
    return evaluate(Context(obs, ref, {}, case), check)


def uniform(seed, low=-0.05, high=0.05, shape=(1000, 10)):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def test_attains_passes_true_uniform_draws_and_states_its_false_alarm_rate():
    for seed in range(50):
        assert ev({"m": uniform(seed)}, ATTAINS).ok, seed
    r = ev({"m": uniform(0)}, ATTAINS)
    # 2 * (1 - 0.0004/0.1)**10000, computed apart from the check
    assert r.expected["false_alarm_rate"] == pytest.approx(2 * math.exp(10000 * math.log1p(-0.004)), rel=1e-2)
    assert r.expected["false_alarm_rate"] < 1e-17
    assert attains_false_alarm(10_000, 0.1, 0.0005) == pytest.approx(2 * 0.995 ** 10_000)


@pytest.mark.parametrize("seed", range(20))
def test_attains_fails_a_one_percent_narrow_range_whatever_the_seed(seed):
    r = ev({"m": uniform(seed, -0.0495, 0.0495)}, ATTAINS)
    assert not r.ok and r.observed["max"] < 0.0496
    assert not ev({"m": uniform(seed, -0.05, 0.0495)}, ATTAINS).ok   # one end short is enough


def test_within_and_uniform_alone_let_a_one_percent_narrow_range_pass():
    # why attains exists: the range and distribution checks cannot see a 1% narrower support
    narrow = uniform(7, -0.0495, 0.0495)
    assert ev({"m": narrow}, {"check": "within", "of": "m", "low": -0.05, "high": 0.05}).ok
    assert ev({"m": narrow}, UNIFORM).ok
    assert not ev({"m": narrow}, ATTAINS).ok


def test_independent_passes_independent_draws_and_its_statistic_is_standard_normal():
    z = []
    for seed in range(300):
        r = ev({"m": uniform(seed)}, INDEPENDENT)
        assert r.ok, (seed, r.observed)
        z += [r.observed["z_neighbours_in_rows"], r.observed["z_neighbours_in_columns"]]
    z = np.asarray(z)
    # the bound |z| < 5.03 rests on z ~ N(0, 1) under independence: mean 0, sd 1 (600 draws)
    assert abs(z.mean()) < 0.2 and 0.85 < z.std() < 1.15
    assert r.expected == {"|z| below": 5.026, "false_alarm_rate_at_most": 1e-6}


@pytest.mark.parametrize("seed", range(20))
def test_independent_fails_a_row_constant_or_column_constant_matrix_whatever_the_seed(seed):
    m = uniform(seed)
    rows = np.repeat(m[:, :1], 10, axis=1)        # one value repeated along each row
    r = ev({"m": rows}, INDEPENDENT)
    assert not r.ok and r.observed["z_neighbours_in_rows"] == pytest.approx(math.sqrt(9000), rel=1e-3)
    columns = np.repeat(m[:1], 1000, axis=0)       # one value repeated down each column
    assert not ev({"m": columns}, INDEPENDENT).ok


def test_independent_fails_a_matrix_without_variation_and_a_vector():
    assert not ev({"m": np.ones((5, 2))}, INDEPENDENT).ok
    r = ev({"m": np.ones(5)}, INDEPENDENT)
    assert not r.ok and "not a matrix" in r.observed


def test_uniform_states_its_false_alarm_rate_and_row_constant_passes_it_at_some_seed():
    r = ev({"m": uniform(7)}, UNIFORM)
    assert r.ok and r.expected["false_alarm_rate_at_most"] == pytest.approx(0.001 + 4 * 3.167e-5, rel=1e-2)
    # the marginal distribution of a row-constant matrix is uniform: the KS verdict on it
    # depends on the seed, which is why init.default-uniform-distribution also checks independence
    verdicts = {ev({"m": np.repeat(uniform(s)[:, :1], 10, axis=1)}, UNIFORM).ok for s in range(20)}
    assert verdicts == {True, False}


def _case(x):
    return Case("c", "forward", None, {"inputs": [np.asarray(x)]})


def test_repeats_at_masked_judges_each_sample_from_its_first_input_on():
    x = [[1, 0, 3, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    seq = np.array([[[1.0], [1.0], [2.0], [2.0]],
                    [[7.0], [8.0], [3.0], [3.0]],       # leading masked steps: not judged
                    [[5.0], [6.0], [7.0], [8.0]]])      # no input at all: not judged
    check = {"check": "repeats_at_masked", "of": "s"}
    assert ev({"s": seq}, check, case=_case(x)).ok
    shared = seq.copy()
    shared[1, 3] = 4.0                                   # sample 1 does not repeat at its step 3
    r = ev({"s": shared}, check, case=_case(x))
    assert not r.ok and "(1, 3)" in r.observed


def test_close_from_first_input_skips_leading_masked_steps_and_names_where_it_differs():
    x = [[0, 2, 0], [1, 1, 0]]
    ref = {"s": np.array([[[0.0], [0.5], [0.5]], [[0.1], [0.2], [0.2]]])}
    check = {"check": "close_from_first_input", "of": "s", "to": "reference"}
    leading_differs = ref["s"].copy()
    leading_differs[0, 0] = 9.0                          # before sample 0's first input
    assert ev({"s": leading_differs}, check, ref, _case(x)).ok
    wrong = ref["s"].copy()
    wrong[1, 2] = 9.0
    r = ev({"s": wrong}, check, ref, _case(x))
    assert not r.ok and r.observed["differs at (sample, step)"] == [[1, 2]]
    assert not ev({"s": ref["s"][:1]}, check, ref, _case(x)).ok   # a shape mismatch fails


NORMAL = {"check": "normal", "of": "m", "mean": 0, "std": 1}


def normal(seed, std=1.0, shape=(1000, 10)):
    return np.random.default_rng(seed).normal(0.0, std, shape).astype(np.float32)


def test_normal_passes_true_normal_draws_and_states_its_false_alarm_rate():
    assert all(ev({"m": normal(seed)}, NORMAL).ok for seed in range(30))
    r = ev({"m": normal(0)}, NORMAL)
    assert r.expected["false_alarm_rate_at_most"] == pytest.approx(0.001 + 4 * 3.167e-5, rel=1e-2)


@pytest.mark.parametrize("sample", [
    lambda seed: normal(seed, std=3.0),                 # torch's init becoming N(0, 3): a pin fails
    lambda seed: normal(seed, std=1.1),                 # 10% wider
    lambda seed: normal(seed) + np.float32(0.1),        # shifted
    lambda seed: uniform(seed, -1.7, 1.7),              # uniform with the variance of N(0, 1)
    lambda seed: uniform(seed),                         # the document's initializer
], ids=["N(0,3)", "N(0,1.1)", "shifted", "uniform-var-1", "U[-0.05,0.05]"])
def test_normal_fails_other_distributions_whatever_the_seed(sample):
    assert not any(ev({"m": sample(seed)}, NORMAL).ok for seed in range(10))
