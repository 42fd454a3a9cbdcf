"""The due-time queue: order, cancellation (lazy deletion), replacement, per-execution cancel."""

from __future__ import annotations

from engine.runtime.timers import TimerQueue


def popped(queue: TimerQueue, now: float) -> list[tuple[str, str, float]]:
    return [(t.execution_arn, t.timer_id, t.due) for t in queue.pop_due(now)]


def test_timers_pop_in_due_order_then_insertion_order() -> None:
    queue = TimerQueue()
    queue.add("e1", "late", 30.0)
    queue.add("e1", "early", 10.0)
    queue.add("e2", "tie-first", 20.0)
    queue.add("e1", "tie-second", 20.0)
    assert len(queue) == 4
    assert queue.next_due() == 10.0
    assert popped(queue, 9.99) == []
    assert popped(queue, 20.0) == [
        ("e1", "early", 10.0),
        ("e2", "tie-first", 20.0),
        ("e1", "tie-second", 20.0),
    ]
    assert len(queue) == 1
    assert queue.next_due() == 30.0
    assert popped(queue, 1e12) == [("e1", "late", 30.0)]
    assert queue.next_due() is None
    assert len(queue) == 0


def test_a_cancelled_timer_never_fires() -> None:
    queue = TimerQueue()
    queue.add("e", "a", 1.0)
    queue.add("e", "b", 2.0)
    queue.cancel("e", "a")
    queue.cancel("e", "no-such-timer")  # harmless
    queue.cancel("other", "b")  # timers are per execution
    assert len(queue) == 1
    assert queue.next_due() == 2.0
    assert popped(queue, 5.0) == [("e", "b", 2.0)]


def test_the_same_timer_id_in_two_executions_is_two_timers() -> None:
    queue = TimerQueue()
    queue.add("e1", "root|wait|1", 5.0)
    queue.add("e2", "root|wait|1", 6.0)
    queue.cancel("e1", "root|wait|1")
    assert popped(queue, 10.0) == [("e2", "root|wait|1", 6.0)]


def test_re_adding_a_timer_replaces_it() -> None:
    queue = TimerQueue()
    queue.add("e", "t", 5.0)
    queue.add("e", "t", 50.0)
    assert len(queue) == 1
    assert queue.next_due() == 50.0
    assert popped(queue, 10.0) == []
    assert popped(queue, 50.0) == [("e", "t", 50.0)]


def test_cancel_execution_drops_only_that_executions_timers() -> None:
    queue = TimerQueue()
    for n in range(3):
        queue.add("gone", f"t{n}", float(n))
        queue.add("kept", f"t{n}", float(n) + 0.5)
    queue.cancel_execution("gone")
    assert len(queue) == 3
    assert queue.next_due() == 0.5
    assert [t[0] for t in popped(queue, 100.0)] == ["kept", "kept", "kept"]


def test_many_timers_come_out_sorted() -> None:
    queue = TimerQueue()
    dues = [(n * 7919) % 1000 for n in range(1000)]
    for n, due in enumerate(dues):
        queue.add("e", f"t{n}", float(due))
    for n in range(0, 1000, 2):
        queue.cancel("e", f"t{n}")
    out = [t[2] for t in popped(queue, 1000.0)]
    assert out == sorted(float(due) for n, due in enumerate(dues) if n % 2)
