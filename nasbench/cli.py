"""Command line: ``nasbench run``, ``resume``, ``show``, ``report``, ``presets``, ``data list|fetch``.

Errors a user can fix (bad arguments, a directory that is not a study, a store
from a newer version) print one line naming the fix and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import pandas as pd

from .objectives import PROBLEMS, problem
from .space import SpaceError, preset, preset_names
from .store import StoreError
from .study import Study

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasbench", description="Evolutionary multi-objective NAS + HPO workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a study on a synthetic problem")
    run.add_argument("problem", choices=sorted(PROBLEMS), help="the objective")
    run.add_argument("--directory", "-d", required=True, help="study directory (created)")
    run.add_argument("--trials", "-n", type=int, default=1000, help="number of trials")
    run.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    run.add_argument("--optimizer", default="nsga2", choices=["nsga2", "random"], help="optimiser")
    run.add_argument("--population", type=int, default=100, help="NSGA-II population size")
    run.add_argument("--n-var", type=int, default=None, help="number of decision variables")
    run.add_argument("--seed", type=int, default=0, help="study seed")
    run.add_argument("--load-if-exists", action="store_true", help="continue the study already in --directory")
    _evaluator_args(run)

    resume = sub.add_parser("resume", help="continue a stopped study to its target number of trials")
    resume.add_argument("directory")
    resume.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    _evaluator_args(resume)

    show = sub.add_parser("show", help="print a study's summary")
    show.add_argument("directory")
    show.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("presets", help="list the bundled search spaces")

    report = sub.add_parser("report", help="execute a notebook with papermill and render it to HTML")
    report.add_argument("notebook", help="e.g. notebooks/01_evolutionary_nas.ipynb")
    report.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a notebook parameter (repeatable); VALUE is read as YAML: 3, 0.5, true, text")
    report.add_argument("--output-dir", default="reports", help="where the .ipynb and .html go")
    report.add_argument("--show-input", action="store_true", help="keep code cells in the HTML")

    data = sub.add_parser("data", help="datasets: list them, or fetch a torchvision set (the one download)")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="datasets nasbench can load").add_argument("--root", default="data")
    fetch = data_sub.add_parser("fetch", help="download a torchvision dataset into --root")
    fetch.add_argument("name", choices=["fashionmnist", "cifar10", "flowers102"])
    fetch.add_argument("--root", default="data")
    return parser


def _evaluator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate on Dask: a LocalCluster, or the scheduler at ADDRESS")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (with --dask)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _evaluator(args: argparse.Namespace):
    if args.dask is None:
        return None
    from .evaluators import DaskEvaluator

    return DaskEvaluator(None if args.dask == "local" else args.dask, n_workers=args.workers)


def _cmd_run(args: argparse.Namespace) -> None:
    params = {} if args.n_var is None else {"n_var": args.n_var}
    options = {"config": {"population_size": args.population}} if args.optimizer == "nsga2" else {}
    study = Study.create(args.directory, problem(args.problem, **params), optimizer=args.optimizer,
                         optimizer_options=options, seed=args.seed, load_if_exists=args.load_if_exists)
    with study:
        study.optimize_until(args.trials, timeout=args.timeout, evaluator=_evaluator(args),
                             show_progress=not args.quiet)
        _print_summary(study.summary())


def _cmd_resume(args: argparse.Namespace) -> None:
    with Study.load(args.directory) as study:
        study.resume(timeout=args.timeout, evaluator=_evaluator(args), show_progress=not args.quiet)
        _print_summary(study.summary())


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


def _print_summary(s: dict) -> None:
    t = s["trials"]
    print(f"study       {s['directory']}")
    print(f"objective   {_describe_objective(s['objective'])}")
    print(f"metrics     {', '.join(f'{k} ({v})' for k, v in s['metrics'].items())}")
    print(f"optimizer   {s['optimizer']} (seed {s['seed']}, generation {s['generation']})")
    print(f"trials      {t['done']} done, {t['failed']} failed, {t['pending']} pending (target {s['target_trials']})")
    hv = s["hypervolume"]
    print(f"hypervolume {'n/a (no reference point)' if hv is None else f'{hv:.6g}'} w.r.t. {s['reference_point']}")
    front = s["pareto_front"]
    print(f"front       {len(front)} trials")
    if len(front):
        cols = ["trial_id", "generation"] + [c for c in front.columns if c.startswith("values_")]
        with pd.option_context("display.max_rows", 12, "display.width", 120):
            print(front[cols].sort_values(cols[2]).to_string(index=False, max_rows=12))


def _cmd_presets(args: argparse.Namespace) -> None:
    for name in preset_names():
        space = preset(name)
        print(f"{name:10s} {len(space):2d} parameters: {', '.join(space.names)}")


def _cmd_data(args: argparse.Namespace) -> None:
    from .data import dataset_names, fetch_dataset

    if args.data_command == "list":
        print("\n".join(dataset_names(args.root)))
    else:
        print(f"fetched {args.name} into {fetch_dataset(args.name, args.root)}")


def _cmd_report(args: argparse.Namespace) -> None:
    from .reports import parse_value, render

    params = {name: parse_value(value) for name, value in args.parameter}
    executed, html = render(args.notebook, params, output_dir=args.output_dir, hide_input=not args.show_input)
    print(f"wrote {executed} and {html}")


def main(argv: Sequence[str] | None = None) -> int:
    from .reports import ReportError

    args = _parser().parse_args(argv)
    handler = {"run": _cmd_run, "resume": _cmd_resume, "show": _cmd_show, "presets": _cmd_presets,
               "data": _cmd_data, "report": _cmd_report}[args.command]
    try:
        handler(args)
    except ReportError as exc:
        print(f"nasbench: error: {exc}", file=sys.stderr)
        return 1
    except (StoreError, SpaceError, ValueError) as exc:
        print(f"nasbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasbench: interrupted; continue with: nasbench resume DIRECTORY", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
