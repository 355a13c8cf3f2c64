"""The bookkeeping behind ``flush()``, called directly: which messages a flush waits
for and the count it returns (PRODUCT.md), with batches finishing in any order.

The pipeline calls ``FlushAccounting`` under its lock; here plain calls stand for the
caller accepting messages, senders taking and finishing batches, and flush() calls
beginning and returning. The last test runs random sequences of them against a
reference model that follows each message by its number.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from segment_web.core.flush_accounting import FlushAccounting, FlushMark


def accept(accounting: FlushAccounting[FlushMark], count: int) -> None:
    accounting.accepted += count  # as Pipeline.accept does, inline


def flush(accounting: FlushAccounting[FlushMark]) -> FlushMark:
    """A flush() that begins and waits."""
    mark = FlushMark()
    assert not accounting.request(mark)
    return mark


def test_eleven_calls_then_flush_count_eleven_whatever_the_first_send_delivered() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting()
    accept(accounting, 1)
    first = accounting.take(1)  # the first message goes out at once and alone
    assert accounting.finish(first, None) == []  # delivered before flush() is called
    accept(accounting, 10)
    mark = flush(accounting)
    assert mark.target == 11
    assert accounting.flush_due()  # the ten pending messages are due now
    rest = accounting.take(10)
    assert not accounting.flush_due()
    assert accounting.finish(rest, None) == [mark]
    assert accounting.count(mark) == 11
    assert mark.error is None
    again = FlushMark()
    assert accounting.request(again)  # nothing to wait for
    assert accounting.count(again) == 0


def test_a_flush_is_satisfied_only_when_the_lowest_unfinished_batch_is_past_its_target() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting()
    accept(accounting, 15)
    firsts = [accounting.take(5) for _ in range(3)]
    assert firsts == [0, 5, 10]
    mark = flush(accounting)
    assert accounting.unfinished_up_to(mark.target) == 15
    assert accounting.finish(firsts[2], None) == []
    assert accounting.finish(firsts[0], None) == []
    assert not accounting.satisfied(mark)
    assert accounting.unfinished_up_to(mark.target) == 5
    assert accounting.unfinished_up_to(7) == 2
    assert accounting.messages_in_flight() == 5
    assert accounting.finish(firsts[1], None) == [mark]
    assert accounting.satisfied(mark)
    assert accounting.messages_in_flight() == 0
    assert accounting.count(mark) == 15


def test_failed_dropped_and_given_up_messages_are_not_counted_delivered() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting()
    accept(accounting, 12)
    delivered_part, failed, _ = (accounting.take(3) for _ in range(3))
    mark = flush(accounting)
    refused = RuntimeError("400 from the API")
    assert accounting.finish(delivered_part, None, dropped=2) == []
    assert accounting.finish(failed, refused) == []
    assert mark.error is refused
    died = RuntimeError("the delivery thread died")
    assert accounting.fail_in_flight(died) == []  # three messages were never taken
    assert accounting.in_flight == {}
    assert accounting.flush_due()
    shutdown = RuntimeError("shut down")
    assert accounting.give_up(3, shutdown) == [mark]
    assert mark.error is shutdown
    assert accounting.count(mark) == 1


def test_two_flushes_at_once_count_each_delivered_message_once() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting()
    accept(accounting, 3)
    early = flush(accounting)
    early_batch = accounting.take(3)
    accept(accounting, 2)  # accepted after the early flush() was called
    later = flush(accounting)
    later_batch = accounting.take(2)
    assert accounting.finish(later_batch, None) == []
    assert accounting.finish(early_batch, None) == [early, later]
    assert (accounting.count(early), accounting.count(later)) == (3, 2)


def test_the_flush_returning_first_counts_what_it_was_called_after() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting()
    accept(accounting, 3)
    early = flush(accounting)
    accept(accounting, 2)
    later = flush(accounting)
    accounting.finish(accounting.take(5), None)
    assert (accounting.count(later), accounting.count(early)) == (5, 0)


def test_a_flush_that_gave_up_leaves_the_rest_to_the_next_one() -> None:
    accounting: FlushAccounting[FlushMark] = FlushAccounting(accepted=4)  # held by a spool
    first, second = accounting.take(2), accounting.take(2)
    timed_out = flush(accounting)
    accounting.finish(second, None)
    assert accounting.count(timed_out) == 2  # returned before the first batch finished
    accounting.finish(first, None)
    accept(accounting, 1)
    mark = flush(accounting)
    accounting.finish(accounting.take(1), None)
    assert accounting.count(mark) == 3


class Model:
    """Each message by its number: its outcome once finished, and whether a returned
    flush counted it."""

    def __init__(self, held: int) -> None:
        self.accepted = held
        self.taken = 0
        self.batches: list[tuple[int, int]] = []  # in flight: (first, size)
        self.outcome: dict[int, str] = {}  # number -> "delivered", "dropped" or "failed"
        self.counted: set[int] = set()
        self.errors: dict[int, Exception | None] = {}  # id(mark) -> the error it reports

    def satisfied(self, target: int) -> bool:
        return all(number in self.outcome for number in range(1, target + 1))

    def unfinished_up_to(self, target: int) -> int:
        return sum(number not in self.outcome for number in range(1, target + 1))

    def finish(self, first: int, size: int, error: Exception | None, dropped: int) -> None:
        for number in range(first + 1, first + size + 1):
            if error is not None:
                self.outcome[number] = "failed"
            elif number > first + size - dropped:  # the accounting counts the first ones
                self.outcome[number] = "dropped"
            else:
                self.outcome[number] = "delivered"

    def count(self, target: int) -> int:
        """Delivered messages queued before the call that no flush counted yet."""
        counted = {
            number
            for number in range(1, target + 1)
            if self.outcome.get(number) == "delivered" and number not in self.counted
        }
        self.counted |= counted
        return len(counted)


class FlushAccountingMachine(RuleBasedStateMachine):
    """Random sequences of accept / take / finish (any order, delivered, partly
    dropped or failed) / give up / request a flush / a flush returns."""

    def __init__(self) -> None:
        super().__init__()
        self.accounting: FlushAccounting[FlushMark] = FlushAccounting()
        self.model = Model(0)
        self.marks: list[FlushMark] = []  # flushes that have not returned
        self.failures = 0

    @initialize(held=st.integers(0, 3))
    def start(self, held: int) -> None:
        self.accounting = FlushAccounting(held)
        self.model = Model(held)

    @rule(count=st.integers(1, 4))
    def accept(self, count: int) -> None:
        self.accounting.accepted += count
        self.model.accepted += count

    @precondition(lambda self: self.model.accepted > self.model.taken)
    @rule(size=st.integers(1, 6))
    def take(self, size: int) -> None:
        size = min(size, self.model.accepted - self.model.taken)
        assert self.accounting.take(size) == self.model.taken
        self.model.batches.append((self.model.taken, size))
        self.model.taken += size

    @precondition(lambda self: self.model.batches)
    @rule(data=st.data(), outcome=st.sampled_from(["delivered", "partly dropped", "failed"]))
    def finish(self, data: st.DataObject, outcome: str) -> None:
        first, size = data.draw(st.sampled_from(self.model.batches), label="batch")
        self.model.batches.remove((first, size))
        error = self._failure() if outcome == "failed" else None
        dropped = data.draw(st.integers(1, size), label="dropped") if outcome[0] == "p" else 0
        self._fail_marks(first, error)
        self.model.finish(first, size, error, dropped)
        self._check_woken(self.accounting.finish(first, error, dropped))

    @rule()
    def fail_in_flight(self) -> None:
        error = self._failure()
        for first, size in self.model.batches:
            self._fail_marks(first, error)
            self.model.finish(first, size, error, 0)
        self.model.batches.clear()
        self._check_woken(self.accounting.fail_in_flight(error))

    @rule()
    def give_up_pending(self) -> None:
        error = self._failure()
        first, count = self.model.taken, self.model.accepted - self.model.taken
        self.model.taken = self.model.accepted
        self._fail_marks(first, error)
        self.model.finish(first, count, error, 0)
        self._check_woken(self.accounting.give_up(count, error))

    @rule()
    def request(self) -> None:
        mark = FlushMark()
        satisfied = self.accounting.request(mark)
        assert mark.target == self.model.accepted
        assert satisfied == self.model.satisfied(mark.target)
        self.marks.append(mark)
        self.model.errors[id(mark)] = None

    @precondition(lambda self: self.marks)
    @rule(data=st.data())
    def flush_returns(self, data: st.DataObject) -> None:
        mark = data.draw(st.sampled_from(self.marks), label="flush")
        self.marks.remove(mark)
        assert self.accounting.count(mark) == self.model.count(mark.target)
        assert mark.error is self.model.errors.pop(id(mark))

    def _failure(self) -> Exception:
        self.failures += 1
        return RuntimeError(f"failure {self.failures}")

    def _fail_marks(self, first: int, error: Exception | None) -> None:
        """A failed batch's error reaches each waiting flush it held messages of."""
        if error is not None:
            for mark in self.marks:
                if first + 1 <= mark.target:
                    self.model.errors[id(mark)] = error

    def _check_woken(self, woken: list[FlushMark]) -> None:
        expected = [mark for mark in self.marks if self.model.satisfied(mark.target)]
        assert sorted(map(id, woken)) == sorted(map(id, expected))

    @invariant()
    def agrees_with_the_model(self) -> None:
        accounting, model = self.accounting, self.model
        assert (accounting.accepted, accounting.taken) == (model.accepted, model.taken)
        assert accounting.messages_in_flight() == sum(size for _, size in model.batches)
        for mark in self.marks:
            assert accounting.satisfied(mark) == model.satisfied(mark.target)
            if model.taken < mark.target:  # a flush waits for messages not taken yet
                assert accounting.flush_due()
        if accounting.flush_due():
            assert model.accepted > model.taken
        for target in range(model.accepted + 1):
            assert accounting.unfinished_up_to(target) == model.unfinished_up_to(target)

    @invariant()
    def each_delivered_message_is_counted_at_most_once(self) -> None:
        delivered = {n for n, outcome in self.model.outcome.items() if outcome == "delivered"}
        assert self.model.counted <= delivered


FlushAccountingMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None
)
test_random_sequences_agree_with_the_reference_model = FlushAccountingMachine.TestCase
