"""Failed sign-ins are counted per login and per address, and forgotten after the window."""

from __future__ import annotations

from web.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_login_is_held_back_after_its_failures_until_the_window_passes():
    clock = Clock()
    throttle = SignInThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("EU@demo ", "10.0.0.1") is None
        throttle.failed("eu@demo", "10.0.0.1")
    assert throttle.retry_after("eu@demo", "10.0.0.2") == 61
    clock.now += 30
    assert throttle.retry_after("eu@demo", "10.0.0.2") == 31
    clock.now += 31
    assert throttle.retry_after("eu@demo", "10.0.0.2") is None


def test_one_address_guessing_many_logins_is_held_back_too():
    throttle = SignInThrottle(max_failures=2, per_address_factor=2, clock=Clock())
    for n in range(4):
        throttle.failed(f"person{n}", "10.0.0.9")
    assert throttle.retry_after("someone-else", "10.0.0.9") is not None
    assert throttle.retry_after("someone-else", "10.0.0.8") is None


def test_a_successful_sign_in_clears_its_logins_count():
    throttle = SignInThrottle(max_failures=2, clock=Clock())
    throttle.failed("eu", "a")
    throttle.succeeded("eu")
    throttle.failed("eu", "a")
    assert throttle.retry_after("eu", "b") is None
