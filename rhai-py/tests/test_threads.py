"""One engine used from several threads at once, with the GIL released while scripts run."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import rhai


def run_threads(targets, timeout=10.0):
    results = [None] * len(targets)

    def wrap(i, func):
        try:
            results[i] = ("ok", func())
        except BaseException as exc:
            results[i] = ("error", exc)

    threads = [threading.Thread(target=wrap, args=(i, f), daemon=True) for i, f in enumerate(targets)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "threads did not finish in time"
    return results


def test_two_scripts_run_concurrently_on_one_engine():
    engine = rhai.Engine()
    barrier = threading.Barrier(2, timeout=5)
    engine.register_fn("meet", lambda: barrier.wait() >= 0)
    results = run_threads([lambda: engine.eval("meet() && true") for _ in range(2)])
    assert results == [("ok", True), ("ok", True)]


def test_gil_released_while_pure_script_runs():
    engine = rhai.Engine()
    started = threading.Event()
    finished_at = []
    engine.register_fn("started", lambda: started.set())
    engine.register_fn("finished", lambda: finished_at.append(time.monotonic()))
    script = "started(); let t = timestamp(); while t.elapsed < 0.3 { } finished(); 1"
    thread = threading.Thread(target=engine.eval, args=(script,), daemon=True)
    thread.start()
    assert started.wait(5)
    main_ran_at = time.monotonic()
    thread.join(10)
    assert not thread.is_alive()
    assert len(finished_at) == 1
    # With the GIL held during the loop, this thread could only resume once the script called back.
    assert finished_at[0] - main_ran_at > 0.15


def test_shared_ast_from_many_threads():
    engine = rhai.Engine()
    ast = engine.compile("fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }")
    args = [10, 11, 12, 13, 14, 15, 16, 17]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: engine.call_fn(ast, "fib", n), args, timeout=30))
    assert results == [55, 89, 144, 233, 377, 610, 987, 1597]


def test_callbacks_from_threads_see_their_own_arguments():
    engine = rhai.Engine()
    engine.register_fn("tag", lambda x: f"{threading.current_thread().name}:{x}")
    names = [f"worker-{i}" for i in range(4)]
    outputs = {}

    def work(name):
        threading.current_thread().name = name
        outputs[name] = [engine.eval(f"tag({i})") for i in range(20)]

    run_threads([lambda n=n: work(n) for n in names])
    for name in names:
        assert outputs[name] == [f"{name}:{i}" for i in range(20)]


def test_fn_ptr_called_from_another_thread():
    fp = rhai.Engine().eval("let k = 3; |x| x * k")
    results = run_threads([lambda: fp(5), lambda: fp(7)])
    assert results == [("ok", 15), ("ok", 21)]


def test_errors_in_threads_stay_in_their_thread():
    engine = rhai.Engine(max_operations=10_000)
    results = run_threads([lambda: engine.eval("loop {}"), lambda: engine.eval("40 + 2")])
    assert results[1] == ("ok", 42)
    status, err = results[0]
    assert status == "error"
    assert isinstance(err, rhai.EvalError)
    assert err.kind == "ErrorTooManyOperations"
