"""Learning-rate schedulers against PyTorch: the same lr (and momentum) sequence for the same settings."""
from __future__ import annotations

import copy
import math
import pickle
import warnings

import pytest

import ember
from ember import optim
from ember.optim import lr_scheduler as E

torch = pytest.importorskip("torch")
T = torch.optim.lr_scheduler

STEPS = 50


def _optimizer(lib, name="SGD", groups=2, **kwargs):
    params = [lib.nn.Parameter(lib.zeros(2)) for _ in range(groups)]
    param_groups = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)]
    kwargs.setdefault("lr", 0.1)
    if name == "SGD":
        kwargs.setdefault("momentum", 0.9)
    return getattr(lib.optim, name)(param_groups, **kwargs)


def _trace(lib, make_scheduler, name="SGD", steps=STEPS, metrics=None, epochs=None, **opt_kwargs):
    """lrs (and momentum or beta1) of every group after construction and after each step."""
    opt = _optimizer(lib, name, **opt_kwargs)
    sched = make_scheduler(lib.optim.lr_scheduler, opt)
    key = "betas" if "betas" in opt.defaults else "momentum"

    def snapshot():
        momenta = [g[key][0] if key == "betas" else g[key] for g in opt.param_groups]
        return list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momenta

    trace = [snapshot()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            opt.step()
            if metrics is not None:
                sched.step(metrics[i])
            elif epochs is not None:
                sched.step(epochs[i])
            else:
                sched.step()
            trace.append(snapshot())
    return trace


def _assert_same_trace(make_scheduler, **kwargs):
    e_trace = _trace(ember, make_scheduler, **kwargs)
    t_trace = _trace(torch, make_scheduler, **kwargs)
    assert len(e_trace) == len(t_trace)
    for step, (e, t) in enumerate(zip(e_trace, t_trace)):
        for e_values, t_values in zip(e, t):
            assert e_values == pytest.approx(t_values, rel=1e-9, abs=1e-15), f"step {step}"


class Halving:
    """A picklable callable lr_lambda with state (saved in the state_dict)."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 10)


SCHEDULERS = {
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda epoch: 0.95 ** epoch),
    "LambdaLR-per-group": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda epoch: 0.97),
    "StepLR": lambda S, o: S.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=17),
    "LinearLR-decay": lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=30),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=30, power=2.0),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-long": lambda S, o: S.CosineAnnealingLR(o, T_max=60),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts-Tmult": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "CyclicLR-triangular": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                                                    step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range",
                                                  gamma=0.97, base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                                 scale_fn=lambda x: 1 / (x + 1), scale_mode="iterations",
                                                 cycle_momentum=False),
    "OneCycleLR-cos": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 1),
    "OneCycleLR-linear": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 1.0], epochs=6, steps_per_epoch=9,
                                                   anneal_strategy="linear", pct_start=0.4),
    "OneCycleLR-three_phase": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, three_phase=True,
                                                        div_factor=10.0, final_div_factor=100.0),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                    S.ExponentialLR(o, gamma=0.9),
                                                    S.CosineAnnealingLR(o, T_max=10)], milestones=[5, 20]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                                         S.ExponentialLR(o, gamma=0.95),
                                                         S.MultiStepLR(o, milestones=[10, 20], gamma=0.5)]),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    _assert_same_trace(SCHEDULERS[name])


@pytest.mark.parametrize("name", ["CyclicLR-triangular", "CyclicLR-exp_range", "OneCycleLR-cos",
                                  "OneCycleLR-three_phase"])
def test_momentum_cycles_adam_beta1_like_torch(name):
    _assert_same_trace(SCHEDULERS[name], name="Adam")


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.81, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7,
                   0.7, 0.7] * 3


@pytest.mark.parametrize("kwargs", [dict(), dict(patience=2), dict(mode="max", patience=1, factor=0.5),
                                    dict(patience=1, threshold=0.1, threshold_mode="abs", cooldown=2),
                                    dict(patience=0, min_lr=[0.02, 0.05]), dict(patience=0, eps=0.01),
                                    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=3)])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    _assert_same_trace(lambda S, o: S.ReduceLROnPlateau(o, **kwargs), steps=len(PLATEAU_METRICS),
                       metrics=PLATEAU_METRICS)


def test_warm_restarts_with_float_epochs_matches_torch():
    epochs = [i * 0.37 for i in range(STEPS)]
    for T_mult in (1, 2, 3):
        _assert_same_trace(lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=T_mult, eta_min=0.001),
                           epochs=epochs)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                  "ConstantLR", "PolynomialLR"])
def test_step_with_epoch_uses_closed_form_like_torch(name):
    epochs = [3, 4, 10, 2, 25, 26, 27, 0, 1] * 3
    _assert_same_trace(SCHEDULERS[name], steps=len(epochs), epochs=epochs)


def test_resume_with_last_epoch_matches_torch():
    def make(S, o):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
        return S.CosineAnnealingLR(o, T_max=10, last_epoch=4)
    _assert_same_trace(make, steps=20)


def test_initial_lr_and_base_lrs():
    opt = _optimizer(ember)
    sched = E.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, pytest.approx(0.2)]
    assert sched.base_lrs == [0.1, pytest.approx(0.2)]
    assert sched.last_epoch == 0 and sched.get_last_lr() == sched.base_lrs


def test_state_dict_round_trip():
    opt = _optimizer(ember)
    sched = E.LambdaLR(opt, Halving())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(13):
            opt.step()
            sched.step()
    sched.lr_lambdas[0].factor = 0.25
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    assert "optimizer" not in state and state["last_epoch"] == 13
    other = E.LambdaLR(_optimizer(ember), Halving())
    other.load_state_dict(state)
    assert other.last_epoch == 13 and other.lr_lambdas[0].factor == 0.25


def test_state_dict_keys_match_torch():
    for name in ["StepLR", "CosineAnnealingLR", "OneCycleLR-cos", "SequentialLR", "CyclicLR-triangular"]:
        e = SCHEDULERS[name](E, _optimizer(ember)).state_dict()
        t = SCHEDULERS[name](T, _optimizer(torch)).state_dict()
        assert set(e) == set(t), name


def test_reduce_lr_on_plateau_state_dict_round_trip():
    opt = _optimizer(ember)
    sched = E.ReduceLROnPlateau(opt, mode="max", patience=1)
    for metric in [1.0, 0.5, 0.5]:
        sched.step(metric)
    other = E.ReduceLROnPlateau(_optimizer(ember))
    other.load_state_dict(copy.deepcopy(sched.state_dict()))
    assert other.mode == "max" and other.best == 1.0 and other.mode_worse == -math.inf


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _optimizer(ember)
    sched = E.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = E.StepLR(_optimizer(ember), step_size=2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_errors():
    opt = _optimizer(ember)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        E.StepLR([], step_size=1)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        E.StepLR(opt, step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        E.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Constant multiplicative factor expected to be between 0 and 1."):
        E.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be greater than 0"):
        E.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        E.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Expected integer T_mult >= 1, but got 0"):
        E.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        E.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        E.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode rel2 is unknown!"):
        E.ReduceLROnPlateau(opt, threshold_mode="rel2")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        E.ReduceLROnPlateau(opt, min_lr=[0, 0, 0])
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        E.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got tan"):
        E.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="tan")
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        E.OneCycleLR(opt, max_lr=[0.1], total_steps=10)
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        E.CyclicLR(opt, 0.01, 0.1, mode="square")
    adagrad = optim.Adagrad([ember.nn.Parameter(ember.zeros(1))])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum`"):
        E.CyclicLR(adagrad, 0.01, 0.1)
    with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers provided to be one "
                                         "more than the number of milestone points"):
        E.SequentialLR(opt, [E.StepLR(opt, 2), E.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="ChainedScheduler does not support `ReduceLROnPlateau`"):
        E.ChainedScheduler([E.ReduceLROnPlateau(opt)])


def test_one_cycle_too_many_steps():
    opt = _optimizer(ember)
    sched = E.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
            sched.step()


def test_scheduler_drives_training():
    p = ember.nn.Parameter(ember.tensor([1.0]))
    opt = optim.SGD([p], lr=1.0)
    sched = E.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = ember.ones(1)
        opt.step()
        sched.step()
    assert p.item() == pytest.approx(1.0 - 1.0 - 0.5 - 0.25)
    assert opt.param_groups[0]["lr"] == 0.125


SCHEDULER_CLASSES = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
                     "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
                     "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]


@pytest.mark.parametrize("name", SCHEDULER_CLASSES)
def test_constructor_arguments_match_torch(name):
    import inspect

    def arguments(cls):
        return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    assert arguments(getattr(E, name)) == arguments(getattr(T, name))


def test_removed_verbose_argument_is_rejected_like_torch():
    with pytest.raises(TypeError, match="unexpected keyword argument 'verbose'"):
        T.StepLR(_optimizer(torch), step_size=2, verbose=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'verbose'"):
        E.StepLR(_optimizer(ember), step_size=2, verbose=False)
