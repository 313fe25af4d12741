from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from nasbench.optimizers.base import Observation
from nasbench.optimizers.pbt import PBT, PBTConfig
from nasbench.optimizers.random_search import RandomSearch
from nasbench.space import Categorical, Float, Integer, SearchSpace, preset

#: A toy with a schedule: a high learning rate falls fast to a high floor, a low one
#: slowly to a low floor, so the best run lowers its learning rate as it goes.
TOY = SearchSpace((Integer("width", 1, 4), Float("learning_rate", 1e-3, 1.0, log=True),
                   Categorical("optimizer", ("sgd", "adam"))), name="toy")


class Trainer:
    """Simulated training with checkpoints: trial id -> (epochs, loss)."""

    def __init__(self, space: SearchSpace, max_epochs: int) -> None:
        self.space, self.max_epochs, self.checkpoints = space, max_epochs, {}

    def __call__(self, trial_id: int, genome, fidelity, warm_start) -> float:
        lr = self.space.to_config(genome)["learning_rate"]
        epochs, loss = self.checkpoints[warm_start] if warm_start is not None else (0, 1.0)
        fidelity = self.max_epochs if fidelity is None else fidelity
        assert fidelity > epochs, "a step must train further than its checkpoint"
        for _ in range(epochs, fidelity):
            loss = lr / 2 + (loss - lr / 2) * (1 - min(lr, 0.9))
        self.checkpoints[trial_id] = (fidelity, loss)
        return loss


def drive(opt, trainer, n_trials, *, ask_size=None, first_id=0):
    """A bare loop; returns [(trial_id, suggestion, value)]."""
    out, next_id = [], first_id
    while next_id < first_id + n_trials:
        batch = opt.ask(min(ask_size or opt.generation_size or 1, first_id + n_trials - next_id))
        if not batch:
            break
        obs = []
        for s in batch:
            value = trainer(next_id, s.genome, s.fidelity, s.warm_start)
            obs.append(Observation(next_id, s.genome, (value,), s.generation, s.parents,
                                   fidelity=s.fidelity, warm_start=s.warm_start))
            out.append((next_id, s, value))
            next_id += 1
        opt.tell(obs)
    return out


def test_bad_settings_say_what_to_pass():
    with pytest.raises(ValueError, match=r"population_size must be an integer >= 2, got '10' \(str\); pass an int"):
        PBTConfig(population_size="10")
    with pytest.raises(ValueError, match=r"max_epochs \(2\) must be >= step_epochs \(3\)"):
        PBTConfig(step_epochs=3, max_epochs=2)
    with pytest.raises(ValueError, match=r"truncation must be a number in \(0, 0.5\]"):
        PBTConfig(truncation=0.8)
    with pytest.raises(ValueError, match=r"hyperparameters \['lr'\] are not in space 'toy'"):
        PBT(TOY, 1, {"hyperparameters": ["lr"]})
    arch = SearchSpace((Integer("n_layers", 1, 3),), name="arch")
    with pytest.raises(ValueError, match="PBT found no training hyperparameter in space 'arch'.*config=\\{'hyperparameters'"):
        PBT(arch, 1)


def test_default_hyperparameters_of_jahs_cnn_leave_the_architecture_alone():
    opt = PBT(preset("jahs_cnn"), 1)
    assert opt.hyperparameters == ["batch_size", "learning_rate", "weight_decay", "dropout", "optimizer",
                                   "random_flip", "random_rotation"]


def test_first_generation_starts_every_member_afresh():
    opt = PBT(TOY, 1, {"population_size": 4, "step_epochs": 2, "max_epochs": 5}, seed=0)
    batch = opt.ask(10)
    assert [(s.fidelity, s.warm_start, s.parents, s.generation) for s in batch] == [(2, None, (), 0)] * 4
    assert opt.ask(10) == []  # all asked, none told: nothing more this generation


def tell_generation(opt, values, first_id, status=None):
    """Ask a whole generation and tell ``values`` (member order); returns the suggestions."""
    batch = opt.ask(opt.generation_size)
    status = status or {}
    opt.tell([Observation(first_id + i, s.genome, None if status.get(i) == "failed" else (v,), s.generation,
                          s.parents, status=status.get(i, "done"), fidelity=s.fidelity, warm_start=s.warm_start)
              for i, (s, v) in enumerate(zip(batch, values))])
    return batch


def test_truncation_exploits_the_bottom_quarter_from_the_top_quarter():
    opt = PBT(TOY, 1, {"population_size": 8, "max_epochs": 3}, seed=1)
    first = tell_generation(opt, [5, 1, 7, 3, 8, 2, 6, 4], first_id=100)
    nxt = opt.ask(8)
    donors = {s.warm_start for m, s in enumerate(nxt) if m in (2, 4)}
    assert donors <= {101, 105} and len(donors) >= 1          # from the top two (values 1 and 2)
    for m, s in enumerate(nxt):
        if m in (2, 4):                                       # the bottom two (values 8 and 7)
            donor = s.warm_start - 100
            assert s.parents == (s.warm_start,) and s.genome[0] == first[donor].genome[0]  # width: the donor's
        else:
            assert (s.warm_start, s.parents, s.genome) == (100 + m, (100 + m,), first[m].genome)
        assert s.fidelity == 2


def test_failed_and_pruned_members_are_replaced_by_exploit():
    opt = PBT(TOY, 1, {"population_size": 4, "max_epochs": 3}, seed=2)
    batch = opt.ask(4)
    values = [3.0, 1.0, 2.0, 0.5]
    opt.tell([Observation(i, s.genome, None if i == 0 else (values[i],), 0, s.parents,
                          status={0: "failed", 2: "pruned"}.get(i, "done"), fidelity=s.fidelity,
                          warm_start=s.warm_start) for i, s in enumerate(batch)])
    nxt = opt.ask(4)
    assert nxt[0].warm_start == 3 and nxt[2].warm_start == 3     # the one top member (k = 1): trial 3
    assert (nxt[1].warm_start, nxt[3].warm_start) == (1, 3)       # the rest continue their own
    assert [s.fidelity for s in nxt] == [2, 2, 2, 2]


def test_every_step_failing_restarts_the_population():
    opt = PBT(TOY, 1, {"population_size": 2, "max_epochs": 2}, seed=3)
    tell_generation(opt, [0, 0], 0, status={0: "failed", 1: "failed"})
    assert [(s.fidelity, s.warm_start) for s in opt.ask(2)] == [(1, None), (1, None)]


def test_multi_objective_ranking_by_front_then_crowding():
    opt = PBT(TOY, 2, {"population_size": 4}, seed=0)
    opt.members = [{"values": v} for v in ([1, 4], [2, 2], [3, 3], [4, 1])]
    assert opt.ranked([0, 1, 2, 3]) == [0, 3, 1, 2]  # front {0, 1, 3}: ends (inf crowding) first; then 2


def test_warm_start_chains_and_the_end():
    cfg = {"population_size": 4, "step_epochs": 2, "max_epochs": 5}
    opt, trainer = PBT(TOY, 1, cfg, seed=4), Trainer(TOY, 5)
    seen = drive(opt, trainer, 1000)
    assert len(seen) == 12 and opt.ask(4) == [] and opt.finished   # 3 generations: 2, 4, 5 epochs
    fidelity = {}
    for trial_id, s, _ in seen:
        assert s.fidelity == [2, 4, 5][s.generation]
        if s.generation == 0:
            assert s.warm_start is None
        else:  # continues a trial of the previous generation, one step shorter
            assert fidelity[s.warm_start] == [2, 4, 5][s.generation - 1]
        fidelity[trial_id] = s.fidelity


def test_explore_stays_valid_and_keeps_architecture_on_jahs_cnn():
    space = preset("jahs_cnn")
    opt = PBT(space, 1, seed=5)
    rng = np.random.default_rng(0)
    hyper = set(opt.hyperparameters)
    for _ in range(1000):
        genome = space.sample_genome(rng)
        child = opt.explore(genome)
        config = space.to_config(child)
        assert space.validate(config) == config
        assert all(a == b for n, a, b in zip(space.names, genome, child) if n not in hyper)


def test_numeric_explore_multiplies_by_the_factors():
    opt = PBT(TOY, 1, {"resample_prob": 0.0}, seed=6)
    ratios = {round(opt.explore([2, 0.01, "sgd"])[1] / 0.01, 12) for _ in range(50)}
    assert ratios == {0.8, 1.2}
    assert opt.explore([2, 1.0, "adam"])[1] in (0.8, 1.0)            # clipped at the top
    dropout = SearchSpace((Float("dropout", 0.0, 0.5),))
    moved = {PBT(dropout, 1, {"resample_prob": 0.0}, seed=s).explore([0.0])[0] for s in range(20)}
    assert sorted(moved) == pytest.approx([0.0, 0.05])                # 0 * factor would never move


@pytest.mark.parametrize("ask_size, k", [(8, 24), (3, 13), (5, 0)])
def test_resume_from_json_continues_exactly(ask_size, k):
    cfg = {"population_size": 8, "step_epochs": 2, "max_epochs": 10, "resample_prob": 0.3}
    straight = drive(PBT(TOY, 1, cfg, seed=7), Trainer(TOY, 10), 80, ask_size=ask_size)
    a, trainer = PBT(TOY, 1, cfg, seed=7), Trainer(TOY, 10)
    part = drive(a, trainer, k, ask_size=ask_size)
    b = PBT(TOY, 1, cfg, seed=123)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    rest = drive(b, trainer, 80 - k, ask_size=ask_size, first_id=k)
    assert [(t, s, v) for t, s, v in part + rest] == straight


def test_state_saved_between_ask_and_tell_resumes_exactly():
    cfg = {"population_size": 4, "max_epochs": 4}
    a, trainer = PBT(TOY, 1, cfg, seed=8), Trainer(TOY, 4)
    drive(a, trainer, 4)
    open_batch = a.ask(4)
    b = PBT(TOY, 1, cfg, seed=0)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    for opt in (a, b):
        opt.tell([Observation(4 + i, s.genome, (float(i),), s.generation, s.parents, fidelity=s.fidelity,
                              warm_start=s.warm_start) for i, s in enumerate(open_batch)])
    assert a.ask(4) == b.ask(4)


def test_telling_a_result_twice_is_refused():
    opt = PBT(TOY, 1, {"population_size": 2}, seed=0)
    s = opt.ask(1)[0]
    obs = Observation(0, s.genome, (1.0,), fidelity=s.fidelity, warm_start=s.warm_start)
    opt.tell([obs])
    with pytest.raises(ValueError, match="PBT has not asked for or was told already"):
        opt.tell([obs])


def best_loss(opt, max_epochs, budget):
    return min(v for _, _, v in drive(opt, Trainer(TOY, max_epochs), budget))


def test_pbt_beats_random_search_where_a_schedule_matters():
    """Equal epochs: 8 members x 20 epochs against 8 random runs of 20 epochs; 10 seeds."""
    cfg = {"population_size": 8, "step_epochs": 2, "max_epochs": 20}
    pbt = [best_loss(PBT(TOY, 1, cfg, seed=s), 20, 80) for s in range(10)]
    rnd = [best_loss(RandomSearch(TOY, 1, seed=s), 20, 8) for s in range(10)]
    assert stats.wilcoxon(pbt, rnd, alternative="less").pvalue < 0.01
    assert np.median(pbt) < 0.8 * np.median(rnd)
