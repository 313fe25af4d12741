from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from nasbench.optimizers.base import Observation
from nasbench.optimizers.peers import OptunaGP, OptunaNSGA2, OptunaPeer, OptunaTPE
from nasbench.optimizers.random_search import RandomSearch
from nasbench.space import Categorical, Float, Integer, SearchSpace, preset

SMALL = SearchSpace((Float("x", -2.0, 2.0), Float("y", 1e-3, 1.0, log=True), Integer("k", 1, 4),
                     Categorical("act", ("relu", "tanh"))), name="small")


def small_values(genome, n_objectives):
    c = SMALL.to_config(genome)
    f1 = (c["x"] - 0.5) ** 2 + abs(np.log10(c["y"]) + 2) + 0.1 * c["k"] + (c["act"] == "tanh")
    return (f1, (c["x"] + 1) ** 2)[:n_objectives]


def drive(opt, n, *, first=0, batch=4, space=SMALL, failures=True):
    """Ask/tell in batches of ``batch``; every 7th trial fails and every 11th is pruned."""
    out, i = [], first
    while i < first + n:
        obs = []
        for s in opt.ask(min(batch, first + n - i)):
            values = small_values(s.genome, opt.n_objectives) if space is SMALL else (float(i % 5),) * opt.n_objectives
            status = "failed" if i % 7 == 3 else "pruned" if i % 11 == 5 else "done"
            status = status if failures else "done"
            obs.append(Observation(i, s.genome, None if status == "failed" else values, s.generation, status=status))
            out.append((i, s.genome, s.generation))
            i += 1
        opt.tell(obs)
    return out


def test_conditional_space_suggests_only_active_parameters():
    space = preset("evo_cnn")
    opt = OptunaTPE(space, 2, seed=0, n_startup_trials=3)
    drive(opt, 20, space=space)
    for trial in opt.study.trials:
        genome = space.to_genome({**space.default(), **trial.params})
        config = space.to_config(genome)
        assert set(trial.params) == set(config) and space.validate(config) == config
    s = opt.ask(1)[0]
    config = space.to_config(s.genome)
    inactive = [p for p, on in zip(space, space.active(config)) if not on]
    assert all(s.genome[space.index(p.name)] == p.default for p in inactive)
    assert set(opt.study.trials[-1].params) == set(config)


def test_failed_and_pruned_trials_reach_optuna_with_their_states():
    opt = OptunaTPE(SMALL, 1, seed=0)
    drive(opt, 12)
    states = [t.state.name for t in opt.study.trials]
    assert states[3] == states[10] == "FAIL" and states[5] == "PRUNED"
    assert states.count("COMPLETE") == 9


def test_options_are_checked_by_name_and_as_json():
    with pytest.raises(ValueError, match=r"optuna_tpe: TPESampler has no data option 'population_size'; use some of \["):
        OptunaTPE(SMALL, 1, population_size=4)
    with pytest.raises(ValueError, match=r"optuna_nsga2: NSGAIISampler has no data option 'crossover'"):
        OptunaNSGA2(SMALL, 2, crossover=object())
    with pytest.raises(ValueError, match=r"option n_startup_trials=\{1\} must be JSON data"):
        OptunaTPE(SMALL, 1, n_startup_trials={1})


def test_telling_an_unknown_result_is_refused():
    opt = OptunaTPE(SMALL, 1, seed=0)
    s = opt.ask(1)[0]
    opt.tell([Observation(0, s.genome, (1.0,))])
    with pytest.raises(ValueError, match="has not suggested or was told already"):
        opt.tell([Observation(0, s.genome, (1.0,))])


def test_nsga2_generations_follow_its_population_size():
    opt = OptunaNSGA2(SMALL, 2, seed=0, population_size=4)
    assert opt.generation_size == 4
    seen = drive(opt, 12, failures=False)
    assert [g for _, _, g in seen] == [0] * 4 + [1] * 4 + [2] * 4
    seen = drive(OptunaNSGA2(SMALL, 2, seed=0, population_size=4), 8)  # trial 3 failed: 3 complete
    assert [g for _, _, g in seen] == [0] * 8  # in generation 0, so Optuna's generation 0 goes on


def test_values_must_match_the_objectives():
    opt = OptunaTPE(SMALL, 2, seed=0)
    s = opt.ask(1)[0]
    with pytest.raises(ValueError, match=r"trial 0 has 1 values but optuna_tpe has 2 objectives; tell one minimised value per objective"):
        opt.tell([Observation(0, s.genome, (1.0,))])


PEERS = [(OptunaTPE, 1, {"n_startup_trials": 4}), (OptunaTPE, 2, {"n_startup_trials": 4}),
         (OptunaNSGA2, 2, {"population_size": 4}), (OptunaGP, 1, {"n_startup_trials": 4})]


@pytest.mark.parametrize("cls, m, options", PEERS, ids=lambda v: getattr(v, "name", str(v)))
def test_resume_from_json_continues_exactly(cls, m, options):
    n, k = (20, 12) if cls is OptunaGP else (24, 12)
    straight = drive(cls(SMALL, m, seed=3, **options), n)
    a = cls(SMALL, m, seed=3, **options)
    part = drive(a, k)
    state = json.loads(json.dumps(a.state_dict()))
    if cls is OptunaGP:  # the GP has been fitted: its kernel cache (the next fit's start) must travel
        assert len(state["caches"]["_gprs_cache_list"]) == 1
    b = cls(SMALL, m, seed=99, **options)
    b.load_state_dict(state)
    assert b.resumes_exactly
    assert part + drive(b, n - k, first=k) == straight


@pytest.mark.parametrize("cls, m, options", PEERS[:3], ids=lambda v: getattr(v, "name", str(v)))
def test_state_saved_between_ask_and_tell_resumes_exactly(cls, m, options):
    """The loop checkpoints after ask: the open trials come back RUNNING."""
    a = cls(SMALL, m, seed=4, **options)
    drive(a, 8)
    open_batch = a.ask(3)
    b = cls(SMALL, m, seed=0, **options)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert [t.state.name for t in b.study.trials[-3:]] == ["RUNNING"] * 3
    for opt in (a, b):
        opt.tell([Observation(8 + i, s.genome, small_values(s.genome, m)) for i, s in enumerate(open_batch)])
    assert [s.genome for s in a.ask(4)] == [s.genome for s in b.ask(4)]


def test_without_the_private_state_a_replay_is_valid_but_not_the_same(monkeypatch):
    """What ``resumes_exactly`` promises, and what is lost without the restored RNGs."""
    a = OptunaTPE(SMALL, 1, seed=5, n_startup_trials=4)
    drive(a, 12)
    state = json.loads(json.dumps(a.state_dict()))
    monkeypatch.setattr(OptunaPeer, "_random_states", staticmethod(lambda sampler, prefix="": {}))
    b = OptunaTPE(SMALL, 1, seed=5, n_startup_trials=4)
    state["random_states"] = {}
    b.load_state_dict(state)
    assert not b.resumes_exactly
    genomes_a, genomes_b = [s.genome for s in a.ask(4)], [s.genome for s in b.ask(4)]
    assert genomes_a != genomes_b
    assert all(SMALL.validate(SMALL.to_config(g)) == SMALL.to_config(g) for g in genomes_b)


def _values(opt, n):
    """Values of ``n`` trials asked and told one at a time."""
    out = []
    for i in range(n):
        s = opt.ask(1)[0]
        v = small_values(s.genome, 1)
        opt.tell([Observation(i, s.genome, v)])
        out.append(v[0])
    return out


def test_tpe_beats_random_search_over_seeds():
    tpe = [min(_values(OptunaTPE(SMALL, 1, seed=s, n_startup_trials=8), 40)) for s in range(8)]
    rnd = [min(_values(RandomSearch(SMALL, 1, seed=s), 40)) for s in range(8)]
    assert stats.wilcoxon(tpe, rnd, alternative="less").pvalue < 0.05
