"""A Ctrl-C that lands where Python drops exceptions (a gc callback, a ``__del__``) still
stops the study: the handler records it, and ``check`` raises it again."""

import gc
import os
import signal
import sys

import pytest

from normexp.execution import interrupts


@pytest.fixture
def installed():
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    hook = sys.unraisablehook
    yield
    sys.unraisablehook = hook
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])
    interrupts._requested = False


def test_nothing_requested_means_check_passes(installed):
    interrupts.install()
    interrupts.check()


# pytest turns an "Exception ignored" report into this warning: as an error, the test
# also checks that the dropped interrupt is not reported.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_in_a_gc_callback_is_raised_again_by_check(installed):
    interrupts.install()  # inside the test, so that it wraps pytest's own unraisable hook
    delivered = []

    def callback(phase, info):  # where JAX's _xla_gc_callback sits
        if phase == "start" and not delivered:
            delivered.append(phase)
            os.kill(os.getpid(), signal.SIGINT)

    gc.callbacks.append(callback)
    try:
        gc.collect()  # the KeyboardInterrupt is printed as "Exception ignored" and dropped
    finally:
        gc.callbacks.remove(callback)
    assert delivered
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()


def test_sigterm_stops_like_ctrl_c(installed):
    interrupts.install()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()
