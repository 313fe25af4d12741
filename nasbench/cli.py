"""Command line: ``nasbench run``, ``resume``, ``show``, ``report``, ``presets``, ``data list|fetch``.

Errors a user can fix (bad arguments, a directory that is not a study, a store
from a newer version, a scheduler that is not there) print one line naming the
fix and exit with status 2; every argument is checked before anything is created.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Sequence

import pandas as pd

from . import __version__
from .objectives import PROBLEMS, problem
from .optimizers import OPTIMIZERS
from .space import SpaceError, preset, preset_names
from .store import StoreError
from .study import Study

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and the help to read)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def error(self, message: str):
        self.exit(2, f"nasbench: error: {message}; see: {self.prog} --help\n")


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nasbench", description="Evolutionary multi-objective NAS + HPO workbench")
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a study on a synthetic problem")
    run.add_argument("problem", choices=sorted(PROBLEMS), help="the objective")
    run.add_argument("--directory", "-d", required=True, help="study directory (created)")
    run.add_argument("--trials", "-n", type=_integer(1), default=1000, help="number of trials")
    run.add_argument("--timeout", type=_seconds, default=None, help="stop after this many seconds")
    run.add_argument("--optimizer", default="nsga2", choices=CLI_OPTIMIZERS, help="optimiser")
    run.add_argument("--stopping", default=None, choices=["median", "mean", "pareto"],
                     help="stop unpromising trials early (objectives that report each step: learning_curve)")
    run.add_argument("--population", type=_integer(2), default=100, help="NSGA-II population size")
    run.add_argument("--n-var", type=_integer(1), default=None, help="number of decision variables")
    run.add_argument("--seed", type=_integer(0), default=0, help="study seed")
    run.add_argument("--load-if-exists", action="store_true", help="continue the study already in --directory")
    _evaluator_args(run)

    resume = sub.add_parser("resume", help="continue a stopped study to its target number of trials")
    resume.add_argument("directory")
    resume.add_argument("--trials", "-n", type=_integer(1), default=None,
                        help="raise the target to this many trials in all; none: keep the study's target")
    resume.add_argument("--timeout", type=_seconds, default=None, help="stop after this many seconds")
    _evaluator_args(resume)

    show = sub.add_parser("show", help="print a study's summary")
    show.add_argument("directory")
    show.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("presets", help="list the bundled search spaces")
    _report_args(sub.add_parser("report", help="execute a notebook with papermill and render it to HTML"))
    _data_args(sub.add_parser("data", help="datasets: list them, or fetch a torchvision set (the one download)"))
    return parser


def _evaluator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate on Dask: a LocalCluster, or the scheduler at ADDRESS")
    p.add_argument("--workers", type=_integer(1), default=2, help="LocalCluster workers (with --dask)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _report_args(report: argparse.ArgumentParser) -> None:
    report.add_argument("notebook", help="e.g. notebooks/01_evolutionary_nas.ipynb")
    report.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a notebook parameter (repeatable); VALUE is read as YAML: 3, 0.5, true, text")
    report.add_argument("--output-dir", default="reports", help="where the .ipynb and .html go")
    report.add_argument("--show-input", action="store_true", help="keep code cells in the HTML")


def _data_args(data: argparse.ArgumentParser) -> None:
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="datasets nasbench can load, and which are here").add_argument(
        "--root", default="data", help="where downloaded sets and image folders live")
    fetch = data_sub.add_parser("fetch", help="download a torchvision dataset into --root")
    fetch.add_argument("name", choices=["fashionmnist", "cifar10", "flowers102"])
    fetch.add_argument("--root", default="data", help="where to put it")


class _Unreachable(ValueError):
    """The Dask scheduler (or LocalCluster) could not be reached."""


def _evaluator(args: argparse.Namespace):
    """The evaluator the flags ask for, connected now, before any study is created."""
    if args.dask is None:
        return None
    from .evaluators import DaskEvaluator

    address = None if args.dask == "local" else args.dask
    try:
        evaluator = DaskEvaluator(address, n_workers=args.workers)
        evaluator.parallelism  # connects (or starts the LocalCluster)
    except (ConnectionError, TimeoutError, OSError) as exc:
        where = f"the Dask scheduler at {address}" if address else "a Dask LocalCluster"
        raise _Unreachable(f"cannot reach {where} ({' '.join(str(exc).split())}); start it (dask scheduler) or "
                           "check the address, or drop --dask") from None
    return evaluator


#: The optimisers ``nasbench run`` offers: every registered one (``--population`` sizes the
#: evolutionary ones; the multi-fidelity ones take the problem's ``max_fidelity``).
CLI_OPTIMIZERS = sorted(OPTIMIZERS)
#: Registered optimisers that need what no synthetic problem of ``nasbench run`` has, and why.
TRAINING_ONLY = {
    "pbt": "PBT explores training hyperparameters (lr, weight_decay, ...) and copies weights between trials",
    "weighted_product": "MnasNet's weighted product scalarises an accuracy and a model size",
}


def _check_runnable(name: str, problem_name: str) -> None:
    if name in TRAINING_ONLY:
        raise ValueError(f"--optimizer {name} cannot run on {problem_name}: {TRAINING_ONLY[name]}; it needs a "
                         f"training objective: use Study.create(..., optimizer={name!r}) with a TrainingObjective "
                         f"in Python or a notebook, or pick another --optimizer here")


def _optimizer_options(name: str, population: int, objective) -> dict:
    if name in ("nsga2", "ga", "nsga2_async"):
        return {"config": {"population_size": population}}
    if name == "islands":
        return {"config": {"population_size": population}}
    if name in ("successive_halving", "hyperband", "bohb"):
        return {"max_fidelity": int(getattr(objective, "max_fidelity", 81))}
    return {}


def _cmd_run(args: argparse.Namespace) -> None:
    _check_runnable(args.optimizer, args.problem)
    params = {} if args.n_var is None else {"n_var": args.n_var}
    objective = problem(args.problem, **params)
    options = _optimizer_options(args.optimizer, args.population, objective)
    evaluator = _evaluator(args)
    try:
        with Study.create(args.directory, objective, optimizer=args.optimizer, optimizer_options=options,
                          seed=args.seed, stopping=args.stopping, load_if_exists=args.load_if_exists) as study:
            study.optimize_until(args.trials, timeout=args.timeout, evaluator=evaluator, show_progress=not args.quiet)
            _print_summary(study.summary())
    finally:
        if evaluator is not None:
            evaluator.close()


def _cmd_resume(args: argparse.Namespace) -> None:
    with Study.load(args.directory) as study:
        summary = study.summary()
        target = args.trials or summary["target_trials"]
        if summary["trials"]["pending"] == 0 and study.n_trials >= target:
            n = study.n_trials
            print(f"study {args.directory} is already complete ({n} trials); raise the target with: "
                  f"nasbench resume {args.directory} --trials {max(2 * n, n + 10)}")
        else:
            evaluator = _evaluator(args)
            try:
                kwargs = dict(timeout=args.timeout, evaluator=evaluator, show_progress=not args.quiet)
                study.optimize_until(args.trials, **kwargs) if args.trials else study.resume(**kwargs)
            finally:
                if evaluator is not None:
                    evaluator.close()
            summary = study.summary()
        _print_summary(summary)


def _cmd_show(args: argparse.Namespace) -> None:
    with Study.load(args.directory) as study:
        summary = study.summary()
    if args.json:
        summary["pareto_front"] = summary["pareto_front"].to_dict(orient="records")
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)


def _describe_objective(spec: dict | None) -> str:
    if not spec:
        return "a function defined in a notebook or script"
    if "problem" in spec:
        params = ", ".join(f"{k}={v}" for k, v in spec.get("params", {}).items())
        return f"{spec['problem']}({params})"
    if "training" in spec:
        t = spec["training"]
        space = t["space"] if isinstance(t["space"], str) else t["space"].get("name", "custom space")
        folds = f"{t['folds']}-fold CV" if t.get("folds") else f"holdout {t['val_fraction']}"
        return f"training on {t['dataset']}, space {space}, {folds}, at most {t['protocol']['max_epochs']} epochs"
    return spec.get("callable", str(spec))


def _g(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _hypervolume_line(hv: float | None, reference: Sequence[float] | None) -> str:
    if hv is None:
        return "hypervolume n/a (no reference point)"
    text = f"{hv:.6g}" + (" (no trial dominates the reference point yet)" if hv == 0 else "")
    return f"hypervolume {text} w.r.t. [{', '.join(_g(v) for v in reference)}]"


def _print_summary(s: dict) -> None:
    t = s["trials"]
    print(f"study       {s['directory']}")
    print(f"objective   {_describe_objective(s['objective'])}")
    print(f"metrics     {', '.join(f'{k} ({v})' for k, v in s['metrics'].items())}")
    print(f"optimizer   {s['optimizer']} (seed {s['seed']}, generation {s['generation']})")
    pruned = f", {t['pruned']} pruned" if t.get("pruned") else ""
    print(f"trials      {t['done']} done, {t['failed']} failed{pruned}, {t['pending']} pending "
          f"(target {s['target_trials']})")
    print(_hypervolume_line(s["hypervolume"], s["reference_point"]))
    front = s["pareto_front"]
    print(f"front       {len(front)} trials")
    if len(front):
        cols = ["trial_id", "generation"] + [c for c in front.columns if c.startswith("values_")]
        with pd.option_context("display.max_rows", 12, "display.width", 120):
            print(front[cols].sort_values(cols[2]).to_string(index=False, max_rows=12, float_format=_g))


def _describe_parameter(p: dict) -> str:
    """``n_filters  int  [8, 256] log  default 32  if n_conv_layers in {2, 3}``."""
    kind = p["type"]
    if "choices" in p:
        domain = "{" + ", ".join(map(str, p["choices"])) + "}"
    elif "low" in p:
        domain = f"[{_g(p['low'])}, {_g(p['high'])}]" + (" log" if p.get("log") else "")
    else:
        domain = ""
    text = f"  {p['name']:20s} {kind:12s} {domain:28s} default {p['default']}"
    cond = p.get("condition")
    if cond:
        text += f"  if {cond['parent']} in {{{', '.join(map(str, cond['values']))}}}"
    return text


def _cmd_presets(args: argparse.Namespace) -> None:
    for name in preset_names():
        space = preset(name)
        print(f"{name:10s} {len(space):2d} parameters")
        for p in space:
            print(_describe_parameter(p.to_dict()))


def _cmd_data(args: argparse.Namespace) -> None:
    from .data import dataset_status, fetch_dataset

    if args.data_command == "list":
        for name, status in dataset_status(args.root).items():
            print(f"{name:14s} {status}")
    else:
        print(f"fetched {args.name} into {fetch_dataset(args.name, args.root)}")


def _cmd_report(args: argparse.Namespace) -> None:
    from .reports import parse_value, render

    params = {name: parse_value(value) for name, value in args.parameter}
    executed, html = render(args.notebook, params, output_dir=args.output_dir, hide_input=not args.show_input)
    print(f"wrote {executed} and {html}")


_COMMANDS = {"run": _cmd_run, "resume": _cmd_resume, "show": _cmd_show, "presets": _cmd_presets, "data": _cmd_data,
             "report": _cmd_report}


def _dispatch(args: argparse.Namespace) -> int:
    from .reports import ReportError

    try:
        _COMMANDS[args.command](args)
    except ReportError as exc:
        print(f"nasbench: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # main() ends quietly
    except (StoreError, SpaceError, ValueError, OSError) as exc:  # OSError: paths, a dataset not downloaded
        print(f"nasbench: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        directory = getattr(args, "directory", None)
        hint = f"; continue with: nasbench resume {directory}" if directory and args.command != "show" else ""
        print(f"nasbench: interrupted{hint}", file=sys.stderr)
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``nasbench`` console script; returns the exit status."""
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error already printed
            return int(exc.code or 0)
        status = _dispatch(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # `nasbench show DIR | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
