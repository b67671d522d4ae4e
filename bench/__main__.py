"""`python -m bench`: run every benchmark, print the table, write bench-results/latest.json.

Exits 0 whatever the results: it reports, it does not gate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import Result, table, write_json
from devstack import template as tpl

SECTIONS = ("cold", "warm", "list", "size", "logs", "chain", "gas")
DEFAULT_OUT = tpl.ROOT / "bench-results" / "latest.json"


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    p.add_argument("--cold-runs", type=int, default=15, help="processes per side and function")
    p.add_argument("--warm-n", type=int, default=300, help="create-payment iterations per side")
    p.add_argument("--list-big", type=int, default=20_000, help="payments of the big node")
    p.add_argument("--list-small", type=int, default=1_000, help="payments of the small node")
    p.add_argument("--list-n", type=int, default=8, help="list iterations per node and page")
    p.add_argument(
        "--layer-dir", type=Path, default=None, help="cold starts only: measure another copy of layers/core (what-if)"
    )
    p.add_argument(
        "--functions", default="", help="cold starts only: comma-separated function names to measure (all by default)"
    )
    p.add_argument("--chain-payments", type=int, default=200, help="web3 payments created at once (chain)")
    p.add_argument(
        "--chain-fault-payments",
        type=int,
        default=None,
        help="payments of the chain section's fault phase (default: --chain-payments; 0: no fault phase)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    os.environ.setdefault("POWERTOOLS_DEV", "false")
    from payments_core import metrics

    # The functions invoked in this process serialise their EMF lines as on Lambda; printed, they would bury
    # the report (the cold-start children print theirs to their own stdout, which the harness reads past).
    metrics.set_writer(lambda _line: None)
    results: list[Result] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()

    if "size" in sections:
        from bench import sizes

        results.extend(sizes.run())

    needs_stack = [s for s in sections if s in ("cold", "warm", "list")]
    if needs_stack:
        from bench import stack

        print("starting moto server and provisioning the stack from template.yaml ...", file=sys.stderr)
        bench = stack.start()
        print(f"  moto at {bench.endpoint_url}", file=sys.stderr)
        try:
            for section in needs_stack:
                t0 = time.perf_counter()
                print(f"{section} ...", file=sys.stderr)
                results.extend(_run_section(section, bench, args))
                timings[section] = time.perf_counter() - t0
        finally:
            bench.stop()

    # These run after the bench's moto server is gone: the log writer's throughput uses moto in-process
    # (mock_aws resets moto's shared state) and both start local stacks of their own; gas needs no AWS at all
    # (eth-tester, in-process).
    for section in ("logs", "chain", "gas"):
        if section not in sections:
            continue
        t0 = time.perf_counter()
        print(f"{section} ...", file=sys.stderr)
        try:
            if section == "logs":
                from bench import logwriter

                results.extend(logwriter.run())
            elif section == "chain":
                from bench import chain

                faults = args.chain_payments if args.chain_fault_payments is None else args.chain_fault_payments
                results.extend(chain.run(args.chain_payments, faults))
            else:
                from bench import gas

                results.extend(gas.run())
        except Exception as exc:  # a section that breaks must not lose the others' results
            results.append(Result(section, f"{section} section failed", None, "", note=repr(exc)[:200],
                                  status_override="ERROR"))  # fmt: skip
        timings[section] = time.perf_counter() - t0

    order = {s: i for i, s in enumerate(("cold start", "warm create", "list", "logs", "chain", "gas", "size"))}
    results.sort(key=lambda r: order.get(r.section, 99))
    print()
    print(table(results))
    failed = [r for r in results if r.status == "FAIL"]
    total = time.perf_counter() - started
    print(f"\n{len(results)} rows, {len(failed)} FAIL; {total:.0f}s in all; written to {args.out}")
    meta: dict[str, Any] = {
        "seconds": total,
        "section_seconds": timings,
        "cpu_count": os.cpu_count(),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    write_json(args.out, results, meta)
    return 0


def _run_section(section: str, bench: Any, args: argparse.Namespace) -> list[Result]:
    if section == "cold":
        from bench import cold

        only = {f.strip() for f in args.functions.split(",") if f.strip()}
        return cold.run(bench, args.cold_runs, args.layer_dir, only)
    if section == "warm":
        from bench import warm

        return warm.run(bench, args.warm_n)
    from bench import listing

    return listing.run(bench, args.list_big, args.list_small, args.list_n)


if __name__ == "__main__":
    sys.exit(main())
