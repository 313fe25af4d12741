from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench.optimizers.stopping import (STOPPING_RULES, MeanRule, MedianRule, ParetoRule, epsilon_net_order,
                                          make_stopping_rule)


def curve(*values, start: int = 1) -> list:
    """A single-objective learning curve: one report per epoch from ``start``."""
    return [(start + i, (v,)) for i, v in enumerate(values)]


def curve2(*points, start: int = 1) -> list:
    return [(start + i, tuple(p)) for i, p in enumerate(points)]


def first_stop(rule, trial, others):
    """The first step at which ``rule`` stops ``trial`` (reports fed one by one), or None."""
    for i in range(1, len(trial) + 1):
        if rule.should_stop(trial[:i], others):
            return trial[i - 1][0]
    return None


# three finished trials whose losses fall from 1.0; their running averages at step 1..4
OTHERS = [curve(1.0, 0.8, 0.6, 0.4), curve(1.0, 0.7, 0.5, 0.3), curve(1.2, 0.9, 0.7, 0.5)]


# --- median and mean ---------------------------------------------------------------------------

def test_median_stops_a_bad_curve_at_the_first_allowed_step_and_a_good_one_never():
    rule = MedianRule(min_trials=3)
    assert first_stop(rule, curve(2.0, 1.9, 1.8, 1.7), OTHERS) == 1
    assert first_stop(rule, curve(0.9, 0.6, 0.4, 0.2), OTHERS) is None
    assert first_stop(MedianRule(grace_steps=2), curve(2.0, 1.9, 1.8, 1.7), OTHERS) == 3


def test_median_uses_running_averages_and_the_best_value_so_far():
    # at step 2 the others' running averages are 0.9, 0.85, 1.05: median 0.9
    others = OTHERS
    rule = MedianRule(grace_steps=1)
    assert not rule.should_stop(curve(1.5, 0.9), others)  # exactly at the median: goes on (ties go on)
    assert rule.should_stop(curve(1.5, 0.9000001), others)
    assert not rule.should_stop(curve(0.5, 3.0), others)  # its best so far (0.5) counts, not its last
    # the mean of 0.9, 0.85, 1.05 is 0.9333...
    assert not MeanRule(grace_steps=1).should_stop(curve(1.5, 0.93), others)
    assert MeanRule(grace_steps=1).should_stop(curve(1.5, 0.94), others)
    assert MedianRule(grace_steps=1).should_stop(curve(1.5, 0.93), others)  # median and mean differ


def test_median_needs_min_trials_that_reached_the_step():
    short = [curve(1.0), curve(1.0), curve(1.0, 0.9)]  # only one reached step 2
    rule = MedianRule(min_trials=2)
    assert rule.should_stop(curve(5.0), short)
    assert not rule.should_stop(curve(5.0, 5.0), short)
    assert MedianRule(min_trials=1).should_stop(curve(5.0, 5.0), short)
    assert not MedianRule(min_trials=4).should_stop(curve(5.0), OTHERS)
    assert not MedianRule().should_stop(curve(5.0), [])


def test_median_ignores_none_values_and_reads_its_objective():
    others = [curve2((None, 1.0), (None, 0.8)), curve2((None, 1.0), (None, 0.7)), curve2((None, 1.2), (None, 0.9))]
    rule = MedianRule(objective=1)
    assert rule.should_stop(curve2((None, 3.0)), others)
    assert not rule.should_stop(curve2((0.0, None)), others)  # nothing of objective 1 yet: goes on
    assert not MedianRule(objective=0).should_stop(curve2((3.0, 3.0)), others)  # the others never reported 0
    gappy = [curve2((1.0,), (None,), (0.5,)) for _ in range(3)]  # step 2 missing: still reached step 2
    assert MedianRule(grace_steps=1).should_stop(curve(9.0, 9.0), gappy)


def test_median_objective_out_of_range_names_the_fix():
    with pytest.raises(ValueError, match=r"^objective=2 but the curves have 2 value\(s\) per report; "
                                         r"pass an index in \[0, 1\]$"):
        MedianRule(objective=2).should_stop(curve2((1.0, 2.0)), [])


def test_warm_started_curves_are_judged_at_their_own_step():
    # a trial continued from epoch 2 reports from step 3: compared with the others up to step 3
    rule = MedianRule(grace_steps=2)
    assert rule.should_stop(curve(0.9, start=3), OTHERS)  # running averages at 3: 0.8, 0.733, 0.933
    assert not rule.should_stop(curve(0.75, start=3), OTHERS)


# --- pareto ------------------------------------------------------------------------------------

# four finished trials at step 1 and 2 (error, size): a front of three plus a dominated one
FRONT = [curve2((0.1, 9.0), (0.1, 9.0)), curve2((0.5, 5.0), (0.5, 5.0)), curve2((0.9, 1.0), (0.9, 1.0)),
         curve2((0.8, 8.0), (0.8, 8.0))]


def test_pareto_keeps_what_can_enter_the_front_and_stops_a_clearly_dominated_trial():
    rule = ParetoRule(eta=3)
    assert first_stop(rule, curve2((0.95, 9.5), (0.95, 9.5)), FRONT) == 1
    assert first_stop(rule, curve2((0.3, 7.0), (0.3, 7.0)), FRONT) is None  # non-dominated
    assert first_stop(rule, curve2((0.05, 20.0)), FRONT) is None  # the best error: on the front
    assert first_stop(rule, curve2((0.1, 9.0)), FRONT) is None  # equal to a front point: not dominated
    assert first_stop(ParetoRule(grace_steps=1), curve2((0.95, 9.5), (0.95, 9.5)), FRONT) == 2


def test_pareto_keeps_a_dominated_trial_in_the_top_one_over_eta():
    dominated = curve2((0.7, 8.5))  # dominated by (0.5, 5.0); rank 1 together with (0.8, 8.0)
    assert ParetoRule(eta=3).should_stop(dominated, FRONT)  # top ceil(5/3) = 2
    assert ParetoRule(eta=2).should_stop(dominated, FRONT)  # top 3: the front
    # top ceil(5/1.25) = 4: the front and one of rank 1, whose two points both have infinite
    # crowding distance: the tie goes to the trial. The epsilon-net starts at the lower error.
    assert not ParetoRule(eta=1.25).should_stop(dominated, FRONT)
    assert not ParetoRule(eta=1.25, tie_break="epsilon_net").should_stop(dominated, FRONT)
    assert ParetoRule(eta=1.25).should_stop(curve2((0.95, 9.5)), FRONT)  # rank 2


def test_pareto_crowding_and_epsilon_net_tie_breaks():
    # rank 0: (0, 0); rank 1: five points, the trial (0.65, 4.0) among them; n = 6
    others = [curve2(p) for p in [(0.0, 0.0), (0.2, 8.0), (0.5, 5.5), (0.52, 5.45), (0.8, 2.0)]]
    trial = curve2((0.65, 4.0))
    # crowding in rank 1: the ends inf, the trial 0.521, (0.5, 5.5) 0.479, (0.52, 5.45) 0.25:
    # 1 + 2 points come before it; eta = 1.5 keeps ceil(6/1.5) = 4, eta = 2 keeps 3
    assert not ParetoRule(eta=1.5, min_trials=1).should_stop(trial, others)
    assert ParetoRule(eta=2, min_trials=1).should_stop(trial, others)
    # the epsilon-net order of rank 1, on objectives normalised over the six points, starts at the
    # lowest error and puts the trial 4th: 1 + 3 before it, so eta = 1.5 stops it
    F = np.array([[0.2, 8.0], [0.5, 5.5], [0.52, 5.45], [0.8, 2.0], [0.65, 4.0]]) / [0.8, 8.0]
    assert epsilon_net_order(F).tolist() == [0, 3, 2, 4, 1]
    assert ParetoRule(eta=1.5, min_trials=1, tie_break="epsilon_net").should_stop(trial, others)
    assert not ParetoRule(eta=1.2, min_trials=1, tie_break="epsilon_net").should_stop(trial, others)


def test_pareto_with_one_objective_is_ashas_rule():
    others = [curve(v) for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    rule = ParetoRule(eta=3)  # top ceil(6/3) = 2 go on
    assert not rule.should_stop(curve(0.15), others)
    assert rule.should_stop(curve(0.25), others)
    assert not rule.should_stop(curve(0.1), others)  # equal to the best: not dominated


def test_pareto_ignores_none_and_compares_at_the_same_step_only():
    rule = ParetoRule()
    assert not rule.should_stop(curve2((None, 99.0)), FRONT)
    late = [curve2((0.1, 1.0), start=2) for _ in range(3)]  # no report at step 1
    assert not rule.should_stop(curve2((9.0, 9.0)), late)
    partial = [curve2((0.1, None)) for _ in range(3)]
    assert not rule.should_stop(curve2((9.0, 9.0)), partial)
    assert ParetoRule(objectives=[0]).should_stop(curve2((9.0, 9.0)), partial)
    assert not ParetoRule(min_trials=5).should_stop(curve2((0.95, 9.5)), FRONT)


# --- construction, errors, round trip ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(STOPPING_RULES))
def test_rules_round_trip_through_json(name):
    rule = make_stopping_rule(name, grace_steps=2, min_trials=4)
    spec = json.loads(json.dumps(rule.to_dict()))
    assert spec["name"] == name and spec["options"]["grace_steps"] == 2
    again = make_stopping_rule(spec["name"], **spec["options"])
    assert again.to_dict() == rule.to_dict() and type(again) is type(rule)


@pytest.mark.parametrize("call, message", [
    (lambda: make_stopping_rule("hyperband"), r"^unknown stopping rule 'hyperband'; use one of "
                                              r"\['mean', 'median', 'pareto'\]$"),
    (lambda: make_stopping_rule("median", eta=3), r"^stopping rule 'median' has no option 'eta'; its options: "
                                                  r"\['grace_steps', 'min_trials', 'objective'\]$"),
    (lambda: make_stopping_rule("pareto", warmup=1), r"^stopping rule 'pareto' has no option 'warmup'; its options: "
                                                     r"\['eta', 'grace_steps', 'min_trials', 'objectives', "
                                                     r"'tie_break'\]$"),
    (lambda: MedianRule(grace_steps=-1), r"^grace_steps must be an integer >= 0, got -1$"),
    (lambda: MedianRule(min_trials="3"), r"^min_trials must be an integer >= 1, got '3' \(str\); pass an int$"),
    (lambda: MeanRule(objective=1.0), r"^objective must be an integer >= 0, got 1.0 \(float\); pass an int$"),
    (lambda: ParetoRule(eta=1), r"^eta must be a number > 1, got 1$"),
    (lambda: ParetoRule(tie_break="random"), r"^tie_break must be one of \('crowding', 'epsilon_net'\), "
                                             r"got 'random'$"),
    (lambda: ParetoRule(objectives=[]), r"^objectives must be a non-empty list of indices or None \(all\), got \[\]$"),
    (lambda: ParetoRule(objectives=[0, -1]), r"^each of objectives must be an integer >= 0, got -1$"),
])
def test_bad_options_get_one_line_naming_the_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_evaluators_spec_builds_a_rule():
    """TrialTask.report calls make_stopping_rule(spec["name"], **spec["options"])."""
    spec = {"name": "median", "options": {"grace_steps": 1}}
    rule = make_stopping_rule(spec["name"], **spec["options"])
    assert rule.should_stop(curve(2.0, 2.0), OTHERS) and not rule.should_stop(curve(2.0), OTHERS)
    assert repr(rule) == "MedianRule(objective=0, grace_steps=1, min_trials=3)"
