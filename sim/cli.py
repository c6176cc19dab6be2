"""Command line: `schoolflow check | run | compare | optimise | sweep | summarize | sensitivity |
calibrate | viz | compile` (see DESCRIPTION, printed by `schoolflow --help`).

Bad input (scenario or county files) prints one line naming the file, the field and the fix,
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sim.core import i18n
from sim.core.errors import InputError
from sim.core.i18n import _

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  #: 128 + SIGINT, as shells report an interrupted command
DESCRIPTION = """SchoolFlow: what a rural school consolidation plan does to pupils, with 90% intervals
over Monte Carlo replicates.

  schoolflow check SCENARIO        validate a scenario and its county; what the plan touches
  schoolflow run SCENARIO          run it (and its compare_to reference); first screen, tables
  schoolflow compare A B ...       compare plans with common random numbers; HTML report
  schoolflow optimise SCENARIO     which schools to close, when, into which receiver (exact)
  schoolflow sweep SWEEP           design points x replicates, locally or on Dask / Slurm
  schoolflow summarize DIR         a sweep's summary table and figure
  schoolflow sensitivity SCENARIO  global sensitivity of indicators to parameters (SALib)
  schoolflow calibrate TARGETS     fit parameters to what a county observed (ABC-SMC)
  schoolflow viz SCENARIO          watch the Mesa reference model in the browser
  schoolflow compile               compile the numba core ahead of the first run

`schoolflow COMMAND --help` gives each command's options. Bad input (scenario or county
files) prints one line naming the file, the field and the fix, and exits with status 2."""
def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiments.run import plan_and_reference, run_plan
    from sim.outputs.console import text_table

    overrides = {k: v for k, v in (("replicates", args.replicates), ("seed", args.seed))
                 if v is not None}
    if args.posterior:
        overrides["posterior"] = str(Path(args.posterior).resolve())
    elif args.no_posterior:
        overrides["posterior"] = None
    runs = plan_and_reference(args.scenario, overrides, args.out, not args.no_compare)
    s, out_dir = runs[0]
    _speak(args, s.lang)
    _compiled()
    with tqdm(total=sum(r.replicates for r, _o in runs), unit=_("replicate"), desc=_("simulating"),
              disable=args.quiet, file=sys.stderr) as bar:
        done = run_plan(runs, args.engine, args.workers, progress=bar.update,
                        on_scenario=bar.set_postfix_str, say=bar.write)
    print("\n" + done.first_screen)
    print("\n" + done.plan_blocks[0])
    print("\n" + _("Year {year} of {name}: median [90% interval] over {n} replicates").format(
        year=s.years, name=s.name, n=s.replicates))
    print(text_table(done.table))
    print("\n" + _("Bus day simulation: ") + _("; ").join(done.bus_lines))
    print("\n" + _("Results written to {folder}/ (bus lines of replicate 0: "
                   "safety_ledger.csv)").format(folder=out_dir))
    return 0


def _speak(args: argparse.Namespace, scenario_lang: str | None) -> None:
    """Speak the scenario's `lang:` from here on where no --lang was given (`main` speaks the
    flag's or the locale's until the scenario is read): `i18n.resolve`'s order."""
    i18n.use(i18n.resolve(args.lang, scenario_lang))


def _compiled() -> None:
    """Compile the numba core first where this machine's cache lacks it, saying so on stderr
    (not silent for a minute or two; `--quiet` does not hide it): sim/model/compile_core.py."""
    from sim.model.compile_core import ensure_compiled
    ensure_compiled()


def cmd_compile(args: argparse.Namespace) -> int:
    from sim.model.compile_core import cache_dir, compile_core, core_is_cached

    cached = core_is_cached()
    print("schoolflow: compiling the numba core for this machine ..." if not cached else
          "schoolflow: the numba core is cached; loading it to check", flush=True)
    seconds = compile_core()
    print(f"schoolflow: {'compiled' if not cached else 'loaded'} in {seconds:.0f} s; "
          f"cached in {cache_dir()}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from sim.experiments.check import check
    from sim.model.scenario import load
    from sim.outputs import style
    from sim.outputs.console import in_words, text_table
    from sim.outputs.county_map import county_map

    scenario = load(args.scenario)
    _speak(args, scenario.lang)
    _compiled()
    report = check(scenario)
    print("\n".join(report.lines))
    where = Path(args.map) if args.map else Path("results") / scenario.name / "county_map.png"
    where.parent.mkdir(parents=True, exist_ok=True)
    drawn = county_map(report.world, where, scenario.name)
    roads = _(", ").join(f"{n} {_(k)}" for k, n in drawn["roads"].items())
    print("\n" + _("Map of the county as read: {file} ({n} places; roads: {roads}; scale bar "
                   "{km:g} km)").format(file=where, n=drawn["villages"], roads=roads,
                                        km=drawn["scale_bar_km"]))
    warning = style.cjk_warning(drawn["names"])
    if warning:
        print(warning)
    if args.schools:
        print(text_table(in_words(report.schools, level="school_level")))
    print("\n" + (_("{n} problem(s) to look at").format(n=report.problems) if report.problems
                  else _("No problems found.")))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from sim.experiments import backtest
    from sim.model.scenario import load

    scenario = load(args.scenario)
    _compiled()
    replicates = args.replicates or min(scenario.replicates, 100)
    bt = backtest.backtest(scenario, args.next, replicates)
    out = Path(args.out) if args.out else Path("results") / f"backtest_{scenario.name}"
    backtest.write(bt, out)
    print("\n".join(backtest.lines(bt, args.next, replicates)))
    print(f"tables: {out / 'backtest_schools.csv'}, {out / 'backtest_summary.csv'}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiments import sweep_run
    from sim.experiments.sweep import load_sweep
    from sim.outputs import console

    sweep = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("results") / Path(args.sweep).stem
    k, todo = sweep_run.prepare(sweep, out, args.chunk_replicates, args.resume)
    if args.scheduler is None:  # local workers load what this process compiles
        _compiled()
    n_chunks = len(sweep.chunks(k))
    print(f"{sweep.path.name}: {len(sweep.points)} design points x {sweep.spec.replicates} "
          f"replicates in {n_chunks} chunks of {k}; {n_chunks - len(todo)} already done")
    with tqdm(total=n_chunks, initial=n_chunks - len(todo), unit="chunk", desc="sweep",
              disable=args.quiet, file=sys.stderr) as bar:
        totals = sweep_run.run_chunks(sweep, out, todo, workers=args.workers,
                                      scheduler=args.scheduler, progress=lambda info: bar.update(1))
    if totals["chunks_run"]:
        rate = totals["child_year_steps"] / max(totals["seconds"], 1e-9)
        print(f"ran {totals['chunks_run']} chunks in {totals['seconds']:.1f} s "
              f"({rate / 1e6:.2f} M child-year steps/s)")
        print(f"bus day simulation: {console.cache_line(totals['bus'])}")
    print(f"Results in {out}/results/ (read them with pandas.read_parquet('{out}/results'))")
    return 0


def cmd_summarize(args: argparse.Namespace) -> int:
    from sim.experiments import sweep_run

    summary = sweep_run.summarize(Path(args.dir))
    print(f"{len(summary)} rows ({summary['point'].nunique()} design points) written to "
          f"{Path(args.dir) / 'summary.csv'}")
    if args.figure:
        from sim.core.indicators import INDICATOR_NAMES
        from sim.outputs import report
        panels = None
        if args.indicators:
            panels = []
            for item in args.indicators.split(","):
                name, _sep, level = item.strip().partition(":")
                if name not in INDICATOR_NAMES or level not in ("", "primary", "junior", "all"):
                    raise InputError("--indicators", item, "use NAME or NAME:LEVEL (level primary, "
                                     "junior or all) with a name from docs/indicators.md")
                panels.append((name, level or "all"))
        print(f"figure: {report.sweep_figure(summary, Path(args.figure), panels)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiments import compare
    from sim.model import engine
    from sim.outputs import console, report, snapshot, style

    engine.set_workers(args.workers)
    total = compare.replicates_to_run(args.sources, args.replicates, Path(args.results))
    if total:
        _compiled()
    with tqdm(total=total, unit=_("replicate"), desc=_("simulating"), disable=args.quiet,
              file=sys.stderr) as bar:
        runs = compare.load_runs(args.sources, args.replicates, Path(args.results),
                                 progress=bar.update)
    _speak(args, runs[0].scenario.lang)
    final = compare.final_year_table(runs)
    paired = compare.paired_table(runs)
    thresholds = compare.threshold_table(runs)
    screens = compare.first_screens(runs, thresholds)
    for screen in screens:
        print(screen + "\n")
    blocks = compare.plan_blocks(runs)
    moved = compare.moves(runs)
    for name, block in blocks.items():
        print("\n".join([block, *moved.get(name, [])]) + "\n")
    print(_("Thresholds of each scenario (checked in every simulated year; '-': not its "
            "threshold)"))
    print(console.text_table(console.in_words(compare.threshold_wide(runs, thresholds))))
    if len(paired):
        last = paired[(paired["year"] == paired["year"].max()) & (paired["level"] == "all")
                      & paired["indicator"].isin(console.HEADLINE)].copy()
        last["median [90% interval]"] = last.apply(
            lambda r: style.interval(r["p50"], r["p05"], r["p95"], r["indicator"], True), axis=1)
        print("\n" + _("Final year, paired difference against {name} (all levels):").format(
            name=runs[0].scenario.name))
        print(console.text_table(console.in_words(
            last[["scenario", "indicator", "median [90% interval]"]])))
    report_path = Path(args.report) if args.report else Path(args.results) / "compare" / "report.html"
    snaps = [snapshot.take(r.scenario) for r in runs]
    files = report.write_report(report_path, runs, final, paired, thresholds, snaps, blocks)
    print("\n" + _("Report: {file} (and {n} PNG / CSV files beside it)").format(
        file=report_path, n=len(files) - 1))
    return 0


def cmd_optimise(args: argparse.Namespace) -> int:
    from sim.experiments import optimise
    from sim.model.scenario import load

    scenario = Path(args.scenario)
    _speak(args, load(scenario).lang)
    _compiled()
    out = Path(args.out) if args.out else Path("results") / f"{scenario.stem}_optimised"
    search = optimise.ChildrenSearch(args.population, args.generations, args.replicates,
                                     args.seed)
    res = optimise.optimise(scenario, out, objective=args.objective, children=search,
                            workers=args.workers, scheduler=args.scheduler, resume=args.resume)
    print("\n".join(optimise.summary_lines(res)))
    print("\n" + _("Results written to {folder}/ (plan.csv, targets.csv, comparison.csv, "
                   "plan_map.png) in {seconds:.0f} s").format(folder=out, seconds=res.seconds))
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiments import sensitivity
    from sim.model import scenario as sc

    if args.resume and not (args.workers or args.scheduler):
        raise InputError("--resume", "(sensitivity)", "resuming needs the points run as a sweep: "
                         "add --workers N or --scheduler ADDRESS (as in the first run)")
    base, params, replicates = sensitivity.source(Path(args.scenario), args.params or [])
    scenario = sc.load(base)
    names, bounds, integer = sensitivity.parse_params(base, params)
    setup = sensitivity.Setup(
        base=base, names=names, bounds=bounds, integer=integer,
        targets=sensitivity.parse_targets(args.indicators), method=args.method,
        samples=args.samples, replicates=args.replicates or replicates or scenario.replicates,
        year=scenario.years if args.year is None else args.year, seed=args.seed)
    n_points = len(sensitivity.design(setup))
    if args.scheduler is None:
        _compiled()
    out = Path(args.out) if args.out else Path("results") / "sensitivity" / scenario.name
    print(f"{args.method}: {n_points} design points x {setup.replicates} replicates "
          f"({len(names)} parameters)")
    with tqdm(total=n_points, unit="point", desc="sensitivity", disable=args.quiet,
              file=sys.stderr) as bar:
        table = sensitivity.run(setup, out, progress=bar.update, workers=args.workers,
                                scheduler=args.scheduler, resume=args.resume)
    with pd.option_context("display.width", 160):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    for warning in sensitivity.stability_warnings(setup, table):
        print(f"WARNING: {warning}")
    print(f"\nWritten to {out}/ (sensitivity.csv, samples.csv, sensitivity.png)")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.experiments.calibrate import load_targets
    from sim.experiments.calibrate_run import calibrate, repick, ship_posterior

    targets = load_targets(args.targets)
    out = Path(args.out) if args.out else Path("results") / "calibration" / targets.path.stem
    if args.ship:
        path = ship_posterior(targets, out, Path(args.ship))
        print(f"Written {path}: the final particles of {out}, with what made them; "
              "nothing was run again")
        return 0
    if args.pick and (out / "metadata.json").exists():
        path = repick(targets, out, args.pick)
        print(f"Written {path} (posterior {args.pick}); nothing was run again")
        return 0
    if args.scheduler is None:
        _compiled()
    print(f"ABC-SMC: {len(targets.priors)} parameters, {len(targets.table)} targets, "
          f"{targets.population} particles per generation, {targets.replicates} replicates per "
          f"parameter set, budget {args.budget} parameter sets", flush=True)
    t0 = time.perf_counter()

    def progress(g: dict) -> None:
        print(f"  generation {g['generation']}: {g['accepted']} of {g['proposals']} accepted, "
              f"{g['simulations']} parameter sets so far, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)

    meta = calibrate(targets, out, args.budget, args.workers, args.scheduler, progress=progress,
                     resume=args.resume, pick=args.pick or "mean")
    summary = pd.read_csv(out / "posterior_summary.csv")
    with pd.option_context("display.width", 160):
        print(summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"{meta['generations']} generations, temperatures "
          + " ".join(f"{t:.3g}" for t in meta["temperatures"])
          + f"; {meta['simulations']} parameter sets simulated in {meta['wall_seconds']} s")
    if not meta["converged"]:
        print(f"warning: the budget ran out at temperature {meta['final_temperature']:.3g} > 1: "
              "the posterior is wider than the data warrant; raise --budget", file=sys.stderr)
    print(f"Written to {out}/ (posterior.parquet, posterior_summary.csv, calibrated.yaml, "
          "fit.csv, posterior.png, fit.png)")
    return 0


def _port_free(host: str, port: int) -> bool:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host if host != "localhost" else "127.0.0.1", port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the parent dies (Linux), so no server is orphaned."""
    import ctypes
    import signal
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def cmd_viz(args: argparse.Namespace) -> int:
    import os
    import signal
    import subprocess

    from sim.model import scenario as sc

    sc.load(args.scenario)  # bad input fails here, with the usual one-line error
    if not _port_free(args.host, args.port):
        raise InputError(f"--port {args.port}", "port", f"{args.host}:{args.port} is already in "
                         "use (another schoolflow viz?); stop it or choose another with --port N")
    app = Path(__file__).parent / "reference" / "viz.py"
    env = dict(os.environ, SCHOOLFLOW_SCENARIO=str(Path(args.scenario).resolve()),
               SCHOOLFLOW_REPLICATE=str(args.replicate), SOLARA_TELEMETRY_MIXPANEL_ENABLE="false",
               SOLARA_CHECK_HOOKS="off")
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", args.host,
           "--port", str(args.port), "--production", "--no-check-version"]
    if args.no_open:
        cmd.append("--no-open")
    server = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)

    def stop(signum, frame):  # the server goes with the command, however it is stopped
        server.terminate()
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    print(f"SchoolFlow web view: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def _dask_options(parser: argparse.ArgumentParser, workers_help: str) -> None:
    """--workers N (local Dask processes) or --scheduler ADDRESS (a running cluster), not both."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help=workers_help)
    where.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. "
                                           "tcp://host:8786")


def _lang_option(parser: argparse.ArgumentParser) -> None:
    """--lang en|zh: the language of what the command prints and writes for people."""
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES),
                        help="language of the console, the report and the figures: en (English) "
                             "or zh (Chinese, 中文); default the scenario's `lang:`, else the "
                             "locale's (LANG=zh_CN.UTF-8), else English")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="schoolflow", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    co = sub.add_parser("compile", help="compile the numba core for this machine ahead of the "
                        "first run (README's set-up does it)")
    co.set_defaults(func=cmd_compile)

    run = sub.add_parser("run", help="run a scenario's Monte Carlo replicates")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--replicates", type=int, help="replicates (overrides the file)")
    run.add_argument("--seed", type=int, help="root seed (overrides the file)")
    run.add_argument("--out", help="output folder (default results/<scenario name>/)")
    run.add_argument("--workers", type=int, help="threads in the numba core (default: all cores)")
    run.add_argument("--engine", choices=["numba", "mesa"], default="numba",
                     help="numba core (default) or the Mesa reference model (same outputs, "
                          "single thread, far slower)")
    post = run.add_mutually_exclusive_group()
    post.add_argument("--posterior", metavar="FILE",
                      help="calibrated posterior (posterior.csv or .parquet): each replicate draws "
                           "its dropout, achievement and senior-high parameters from it, the same "
                           "draw in the plan and its reference (default: the scenario's "
                           "`posterior`, which the bundled scenarios set)")
    post.add_argument("--no-posterior", action="store_true",
                      help="fixed parameters: intervals show chance only, not parameter "
                           "uncertainty")
    run.add_argument("--no-compare", action="store_true",
                     help="skip the scenario's compare_to reference run")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _lang_option(run)
    run.set_defaults(func=cmd_run)

    ck = sub.add_parser("check", help="validate a scenario and its county; profile the county "
                        "and what the plan would touch, without running it")
    ck.add_argument("scenario", help="scenario YAML file")
    ck.add_argument("--schools", action="store_true", help="also print every school's row")
    ck.add_argument("--map", help="where to draw the county as read (PNG; default "
                    "results/<scenario name>/county_map.png)")
    _lang_option(ck)
    ck.set_defaults(func=cmd_check)

    sw = sub.add_parser("sweep", help="run a sweep of design points x replicates on Dask")
    sw.add_argument("sweep", help="sweep YAML file (see scenarios/sweeps/)")
    sw.add_argument("--out", help="output folder (default results/<sweep file name>/)")
    _dask_options(sw, "local Dask worker processes (default 1; each uses cores / workers threads)")
    sw.add_argument("--chunk-replicates", type=int,
                    help="replicates per chunk (default: the sweep file's chunk_replicates)")
    sw.add_argument("--resume", action="store_true", help="run only the chunks not yet written")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    cp = sub.add_parser("compare", help="compare plans with common random numbers; HTML report")
    cp.add_argument("sources", nargs="+",
                    help="scenario files or results folders; the first is the reference")
    cp.add_argument("--replicates", type=int, help="replicates for scenarios run now")
    cp.add_argument("--report", help="HTML report file (default results/compare/report.html)")
    cp.add_argument("--results", default="results",
                    help="where scenarios run now write their results (default results/)")
    cp.add_argument("--workers", type=int, help="threads in the numba core (default: all cores)")
    cp.add_argument("--quiet", action="store_true", help="no progress bar")
    _lang_option(cp)
    cp.set_defaults(func=cmd_compare)

    op = sub.add_parser("optimise", help="which schools the plan should close, when and into "
                        "which receiver, meeting its closure targets (exact, HiGHS)")
    op.add_argument("scenario", help="scenario YAML file with closure rules (their targets)")
    op.add_argument("--objective", choices=["travel", "children"], default="travel",
                    help="travel: least pupil-minutes, by mixed-integer programming (default); "
                         "children: children out of school, grades 1-3 over 30 minutes and cost "
                         "per pupil, simulated, searched with NSGA-II")
    op.add_argument("--population", type=int, default=12,
                    help="children: plans per NSGA-II generation (default 12)")
    op.add_argument("--generations", type=int, default=5,
                    help="children: NSGA-II generations (default 5)")
    op.add_argument("--replicates", type=int, default=8,
                    help="children: replicates per plan, the same for every plan (default 8)")
    op.add_argument("--seed", type=int, default=1, help="children: the search's seed (default 1)")
    op.add_argument("--out", help="output folder (default results/<scenario file name>_optimised/)")
    _dask_options(op, "children: local Dask worker processes that run the plans (default 1: "
                      "in this process, numba threads on every core); the front is the same "
                      "for any number")
    op.add_argument("--resume", action="store_true",
                    help="children: continue an interrupted search from the plans it ran")
    _lang_option(op)
    op.set_defaults(func=cmd_optimise)

    se = sub.add_parser("sensitivity", help="global sensitivity (SALib Sobol' or Morris)")
    se.add_argument("scenario", help="base scenario YAML file, or a sweep file (its base, and its "
                                     "parameters' ranges)")
    se.add_argument("--params", nargs="+", metavar="PATH=LOW:HIGH",
                    help="parameters (dotted scenario paths) and their ranges; with a sweep file, "
                         "added to (or replacing) its parameters")
    se.add_argument("--method", choices=["sobol", "morris"], default="sobol")
    se.add_argument("--indicators", default="dropout_rate:all,travel_time_p95_min:primary",
                    help="NAME[:LEVEL],... (default dropout rate, primary p95 travel)")
    se.add_argument("--samples", type=int, default=32,
                    help="SALib base samples N (sobol: N x (params + 2) points; morris: "
                         "N trajectories of params + 1 points); default 32")
    se.add_argument("--replicates", type=int, help="replicates per point (default: the file's)")
    se.add_argument("--year", type=int, help="simulated year analysed (default: the last)")
    se.add_argument("--seed", type=int, default=1, help="seed of the design (default 1)")
    se.add_argument("--out", help="output folder (default results/sensitivity/<scenario name>/)")
    _dask_options(se, "run the points as a sweep on this many local Dask worker processes "
                      "(default: in this process, all cores); chunks go to OUT/runs/")
    se.add_argument("--resume", action="store_true",
                    help="with --workers or --scheduler: run only the points not yet in OUT/runs/")
    se.add_argument("--quiet", action="store_true", help="no progress bar")
    se.set_defaults(func=cmd_sensitivity)

    ca = sub.add_parser("calibrate", help="calibrate parameters to observed data (ABC-SMC, pyabc)")
    ca.add_argument("targets", help="targets YAML file (see calibration/README.md)")
    ca.add_argument("--budget", type=int, default=10_000,
                    help="most parameter sets to simulate (default 10000); the run stops earlier "
                         "when the temperature reaches 1")
    ca.add_argument("--out", help="output folder (default results/calibration/<targets name>/)")
    _dask_options(ca, "local Dask worker processes (default 1: in this process, all cores)")
    ca.add_argument("--pick", help="parameter set of calibrated.yaml: mean (default), median or "
                                   "draw:K (row K of posterior.parquet); on a finished "
                                   "calibration's --out, rewrites calibrated.yaml only")
    ca.add_argument("--ship", metavar="FILE",
                    help="write a finished calibration's posterior as a CSV that runs draw from "
                         "(`posterior:` in a scenario, `run --posterior`), with its provenance; "
                         "runs nothing")
    ca.add_argument("--resume", action="store_true",
                    help="continue an interrupted calibration in --out from its last finished "
                         "generation")
    ca.set_defaults(func=cmd_calibrate)

    bt = sub.add_parser("backtest", help="calibrate on this year's rolls, simulate one year, "
                                         "compare with next year's rolls")
    bt.add_argument("scenario", help="scenario YAML file whose county has this year's rolls")
    bt.add_argument("--next", required=True,
                    help="next year's rolls: a schools.csv (school_id, pupils_g1 ... pupils_g9), "
                         "or a county folder or workbook holding one")
    bt.add_argument("--replicates", type=int,
                    help="replicates (default: the scenario's, at most 100)")
    bt.add_argument("--out", help="output folder (default results/backtest_<scenario name>/)")
    bt.set_defaults(func=cmd_backtest)

    vz = sub.add_parser("viz", help="watch the Mesa reference model in the browser (Solara)")
    vz.add_argument("scenario", help="scenario YAML file")
    vz.add_argument("--replicate", type=int, default=0, help="replicate to show (default 0)")
    vz.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    vz.add_argument("--host", default="localhost", help="address to serve on (default localhost)")
    vz.add_argument("--no-open", action="store_true", help="do not open a browser window")
    vz.set_defaults(func=cmd_viz)

    sm = sub.add_parser("summarize", help="mean and 90%% interval per design point of a sweep")
    sm.add_argument("dir", help="the sweep's output folder")
    sm.add_argument("--figure", help="also draw indicators against the first swept parameter "
                                     "(PNG file)")
    sm.add_argument("--indicators", help="panels of the figure: NAME[:LEVEL],... (default: "
                                         "dropout, primary p95 travel, bus ride p95, cost per pupil)")
    sm.set_defaults(func=cmd_summarize)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("replicates", "workers", "chunk_replicates", "samples", "budget"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            flag = name.replace("_", "-")
            print(f"schoolflow: error: --{flag} must be at least 1 (got {value})", file=sys.stderr)
            return EXIT_BAD_INPUT
    # the command's language (`--lang`, else the locale; a command may then take its scenario's
    # `lang:`), for its errors too; it ends with the command
    with i18n.language(i18n.resolve(getattr(args, "lang", None))):
        try:
            return args.func(args)
        except InputError as exc:
            print(_("schoolflow: error: {problem}").format(problem=exc), file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            # results are written into temporary folders and files that are removed on the way
            # out (sim/outputs/store.py): nothing half-written is left under the results' names
            print("\n" + _("schoolflow: interrupted; nothing was written for the unfinished "
                           "run"), file=sys.stderr)
            return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
