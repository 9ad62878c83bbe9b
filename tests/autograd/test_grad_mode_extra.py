"""no_grad / enable_grad as decorators with and without parentheses, on functions and generators;
inference_mode as a context manager and decorator."""
import pytest

import gradstep as gs


def test_no_grad_decorator_without_parentheses():
    @gs.no_grad
    def f(x):
        return x * 2, gs.is_grad_enabled()

    y, enabled = f(gs.ones(2, requires_grad=True))
    assert not enabled and not y.requires_grad and gs.is_grad_enabled()
    assert f.__name__ == "f"


def test_no_grad_decorator_with_parentheses_and_context():
    @gs.no_grad()
    def f():
        return gs.is_grad_enabled()

    assert f() is False and gs.is_grad_enabled()
    with gs.no_grad():
        assert not gs.is_grad_enabled()

        @gs.enable_grad
        def g():
            return gs.is_grad_enabled()

        assert g() is True and not gs.is_grad_enabled()
    assert gs.is_grad_enabled()


def test_mode_is_restored_after_an_exception():
    @gs.no_grad
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert gs.is_grad_enabled()


def test_decorated_generator_runs_its_body_in_the_mode():
    @gs.no_grad
    def gen(n):
        for i in range(n):
            received = yield gs.is_grad_enabled()
            assert received in (None, "ping")
        return "done"

    it = gen(3)
    assert next(it) is False
    assert gs.is_grad_enabled()  # the caller's mode between resumptions
    assert it.send("ping") is False
    assert list(it) == [False]
    assert gs.is_grad_enabled()

    def outer():
        result = yield from gen(1)
        assert result == "done"

    assert list(outer()) == [False]


def test_inference_mode():
    with gs.inference_mode():
        assert not gs.is_grad_enabled()
        y = gs.ones(2, requires_grad=True) * 2
        assert not y.requires_grad
    assert gs.is_grad_enabled()
    with gs.inference_mode(False):
        assert gs.is_grad_enabled()

    @gs.inference_mode
    def f():
        return gs.is_grad_enabled()

    @gs.inference_mode()
    def g():
        return gs.is_grad_enabled()

    @gs.inference_mode(mode=False)
    def h():
        return gs.is_grad_enabled()

    assert f() is False and g() is False and h() is True and gs.is_grad_enabled()


def test_bad_argument():
    with pytest.raises(TypeError, match=r"no_grad\(\) takes no arguments"):
        gs.no_grad(3)


def test_namespace_has_no_annotations_leak():
    assert not hasattr(gs, "annotations")


def test_set_grad_enabled_as_decorator_applies_inside_only():
    @gs.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert gs.is_grad_enabled()
    x = gs.ones(2, requires_grad=True)
    assert not f(x).requires_grad and gs.is_grad_enabled()
