"""The cost of one Python -> Rhai -> Python crossing, next to the same logic in plain Python.

A crossing: Python calls a script function, which calls one registered Python function and returns
its result. Prints the median over many calls, in microseconds, and the ratio to plain Python.

    .venv/bin/python benchmarks/rhai_calls.py [--calls N] [--json]
"""

import argparse
import json
import statistics
import time

import rhai

SCRIPT = """
fn step(x) {
    double(x) + 1
}
"""


def double(x: int) -> int:
    return x * 2


def plain_step(x: int) -> int:
    return double(x) + 1


def median_us(call, args, calls: int, batch: int = 100) -> float:
    """Median time of one call, timing batches so that the clock's own cost stays out."""
    samples = []
    for _ in range(calls // batch):
        start = time.perf_counter_ns()
        for _ in range(batch):
            call(*args)
        samples.append((time.perf_counter_ns() - start) / batch / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()

    engine = rhai.Engine(max_operations=1_000_000)
    engine.register_fn("double", double)
    ast = engine.compile(SCRIPT, name="bench.rhai")
    assert engine.call_fn(ast, "step", 20) == plain_step(20) == 41

    median_us(engine.call_fn, (ast, "step", 20), options.calls // 10)  # warm up
    figures = {
        "crossing_us": median_us(engine.call_fn, (ast, "step", 20), options.calls),
        "crossing_no_eval_ast_us": median_us(
            lambda x: engine.call_fn(ast, "step", x, eval_ast=False), (20,), options.calls
        ),
        "plain_python_us": median_us(plain_step, (20,), options.calls),
    }
    figures["ratio_to_plain"] = figures["crossing_us"] / figures["plain_python_us"]
    if options.json:
        print(json.dumps(figures))
        return
    print(f"Python -> Rhai -> Python crossing: {figures['crossing_us']:.2f} us (median; goal < 5 us)")
    print(f"  the same with eval_ast=False:    {figures['crossing_no_eval_ast_us']:.2f} us")
    print(f"same logic in plain Python:        {figures['plain_python_us']:.3f} us")
    print(f"ratio:                             {figures['ratio_to_plain']:.0f}x")


if __name__ == "__main__":
    main()
