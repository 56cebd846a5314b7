from __future__ import annotations

import functools

import pytest

import hookkit
from hookkit import HookRegistry, Phase, RegistrationError
from hookkit.core.errors import ConfigurationError


def test_decorators_register_and_return_the_function_unchanged() -> None:
    registry = HookRegistry()

    def plain(target):
        return "called"

    decorated = registry.pre_traffic(plain)
    assert decorated is plain and plain(None) == "called"

    @registry.post_traffic(name="api answers", timeout=10, retries=2, retry_delay=0.5, blocking=False)
    def api_answers(api):
        pass

    (pre,) = registry.checks(Phase.BEFORE_ALLOW_TRAFFIC)
    (post,) = registry.checks("PostTraffic")
    assert (pre.name, pre.params, pre.options.timeout, pre.blocking) == ("plain", ("target",), 30.0, True)
    assert (post.name, post.phase, post.options.retries, post.options.retry_delay, post.blocking) == (
        "api answers", Phase.AFTER_ALLOW_TRAFFIC, 2, 0.5, False,
    )
    assert pre.base_dir is not None and pre.base_dir.name == "tests"


def test_module_level_decorators_use_the_default_registry() -> None:
    @hookkit.pre_traffic(name="test_module_level_decorators_probe")
    def probe(deployment, context):
        pass

    try:
        names = [c.name for c in hookkit.default_registry.checks("pre")]
        assert "test_module_level_decorators_probe" in names
    finally:
        hookkit.default_registry._checks[Phase.BEFORE_ALLOW_TRAFFIC].pop("test_module_level_decorators_probe")


def test_ecs_phases_register_with_on() -> None:
    registry = HookRegistry()

    @registry.on(Phase.AFTER_ALLOW_TEST_TRAFFIC)
    def test_listener_answers():
        pass

    assert registry.phases() == [Phase.AFTER_ALLOW_TEST_TRAFFIC]


def test_checks_keep_declaration_order_and_params_with_defaults_are_left_alone() -> None:
    registry = HookRegistry()
    for name in ["c", "a", "b"]:
        registry.add_check(lambda target, retries_seen=0: None, "pre", name=name)
    assert [c.name for c in registry.checks("pre")] == ["c", "a", "b"]
    assert registry.checks("pre")[0].params == ("target",)
    assert len(registry) == 3


@pytest.mark.parametrize(
    "func, options, fragment",
    [
        (lambda order_id: None, {}, "unknown parameter 'order_id'"),
        (lambda *args: None, {}, "must be a plain named parameter"),
        (lambda **kw: None, {}, "must be a plain named parameter"),
        (lambda target: None, {"timeout": 0}, "timeout must be greater than 0"),
        (lambda target: None, {"timeout": "10"}, "timeout must be a number of seconds"),
        (lambda target: None, {"retries": -1}, "retries must be a whole number"),
        (lambda target: None, {"retries": 1.5}, "retries must be a whole number"),
        (lambda target: None, {"retry_delay": -1}, "retry_delay cannot be negative"),
        (lambda target: None, {"blocking": "yes"}, "blocking must be True or False"),
        (lambda target: None, {"name": ""}, "name must be a non-empty string"),
    ],
)
def test_bad_declarations_fail_at_registration_naming_the_check(func, options, fragment) -> None:
    registry = HookRegistry()
    with pytest.raises(RegistrationError) as info:
        registry.add_check(func, "pre", **({"name": "the_check"} | options))
    assert fragment in str(info.value)
    if options.get("name") != "":
        assert "the_check" in str(info.value)


def test_unknown_option_is_a_type_error_of_the_decorator() -> None:
    registry = HookRegistry()
    with pytest.raises(TypeError):
        registry.pre_traffic(timeuot=3)(lambda: None)


def test_unknown_parameter_message_lists_what_a_check_can_ask_for() -> None:
    registry = HookRegistry()
    with pytest.raises(RegistrationError) as info:
        registry.pre_traffic(lambda client: None)
    for name in ("target", "api", "deployment", "context"):
        assert name in str(info.value)


def test_duplicate_names_are_refused_within_a_phase_only() -> None:
    registry = HookRegistry()

    def smoke(api):
        pass

    registry.pre_traffic(smoke)
    registry.post_traffic(smoke)  # the same check may guard both phases
    with pytest.raises(RegistrationError, match="'smoke' is already registered for BeforeAllowTraffic"):
        registry.pre_traffic(smoke)


def test_atomic_undoes_registrations_when_the_block_raises() -> None:
    registry = HookRegistry()
    registry.pre_traffic(lambda: None, name="kept")
    def half_imported() -> None:
        registry.pre_traffic(lambda: None, name="half_imported")
        raise ZeroDivisionError("the module failed halfway")

    with pytest.raises(ZeroDivisionError), registry.atomic():
        half_imported()
    assert [c.name for c in registry.checks("pre")] == ["kept"]


@pytest.mark.parametrize(
    "text, phase",
    [
        ("BeforeAllowTraffic", Phase.BEFORE_ALLOW_TRAFFIC),
        ("PreTraffic", Phase.BEFORE_ALLOW_TRAFFIC),
        ("pre", Phase.BEFORE_ALLOW_TRAFFIC),
        ("post-traffic", Phase.AFTER_ALLOW_TRAFFIC),
        ("afterallowtraffic", Phase.AFTER_ALLOW_TRAFFIC),
        ("AfterAllowTestTraffic", Phase.AFTER_ALLOW_TEST_TRAFFIC),
        ("BeforeInstall", Phase.BEFORE_INSTALL),
    ],
)
def test_phase_parses_codedeploy_sam_and_short_names(text, phase) -> None:
    assert Phase.parse(text) is phase


def test_unknown_phase_names_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"HOOKKIT_PHASE: unknown phase 'during'.*BeforeAllowTraffic"):
        Phase.parse("during", source="HOOKKIT_PHASE")


def test_checks_made_by_one_def_are_read_by_their_own_defaults() -> None:
    def make():
        def check(target, extra=1):
            return None

        return check

    registry = HookRegistry()
    first, second, broken = make(), make(), make()
    broken.__defaults__ = None  # now 'extra' must be given, and a check cannot be given it
    assert registry.add_check(first, Phase.BEFORE_ALLOW_TRAFFIC, name="first").params == ("target",)
    assert registry.add_check(second, Phase.BEFORE_ALLOW_TRAFFIC, name="second").params == ("target",)
    with pytest.raises(
        RegistrationError,
        match=rf"check 'broken' \(\S+test_registry.py:{broken.__code__.co_firstlineno}\): unknown parameter 'extra'",
    ):
        registry.add_check(broken, Phase.BEFORE_ALLOW_TRAFFIC, name="broken")


def test_decorated_checks_ask_for_what_the_function_they_wrap_asks_for() -> None:
    def logged(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        return wrapper

    def uses_target(target):
        return None

    def uses_api(api):
        return None

    registry = HookRegistry()
    a = registry.add_check(logged(uses_target), Phase.BEFORE_ALLOW_TRAFFIC)
    b = registry.add_check(logged(uses_api), Phase.BEFORE_ALLOW_TRAFFIC)
    assert (a.params, b.params) == (("target",), ("api",))



def generator_check(target):
    yield target


async def async_generator_check(target):
    yield target


class ClassCheck:
    def __init__(self, target):
        self.target = target


class CallableGenerator:
    def __call__(self, target):
        yield target


@pytest.mark.parametrize(
    "func, kind, instead",
    [
        (generator_check, "is a generator function (it contains yield)", "Write a plain def"),
        (functools.partial(generator_check), "is a generator function", "Write a plain def"),
        (CallableGenerator(), "is a generator function", "Write a plain def"),
        (async_generator_check, "is an async generator function (async def with yield)", "Remove the yield"),
        (ClassCheck, "is a class: calling it only builds an object", "Register a function"),
    ],
    ids=["generator", "partial", "callable-object", "async-generator", "class"],
)
def test_what_cannot_be_a_check_is_refused_naming_its_line_and_what_to_write(func, kind, instead) -> None:
    import inspect

    registry = HookRegistry()
    defined = func.func if isinstance(func, functools.partial) else func
    defined = defined if inspect.isfunction(defined) or inspect.isclass(defined) else type(defined)
    line = defined.__code__.co_firstlineno if inspect.isfunction(defined) else inspect.getsourcelines(defined)[1]
    with pytest.raises(RegistrationError) as info:
        registry.add_check(func, "pre", name="the_check")
    message = str(info.value)
    assert message.startswith("check 'the_check' (")
    assert kind in message and instead in message
    assert f"({__file__}:{line})" in message  # the user's file and line, never hookkit's or functools'
    assert len(registry) == 0


def test_a_check_that_cannot_run_is_refused_by_add_too() -> None:
    from hookkit import Check, CheckOptions

    registry = HookRegistry()
    built = Check(name="built", func=generator_check, phase=Phase.BEFORE_ALLOW_TRAFFIC, options=CheckOptions(),
                  params=("target",), base_dir=None)
    with pytest.raises(RegistrationError, match=r"'built'.*generator function"):
        registry.add(built)


def test_async_checks_register_and_stay_the_function_they_were() -> None:
    registry = HookRegistry()

    async def answers(target):
        return None

    assert registry.pre_traffic(answers) is answers
    assert registry.pre_traffic(name="again")(answers) is answers
    (check, again) = registry.checks("pre")
    assert (check.params, check.source) == (("target",), (__file__, answers.__code__.co_firstlineno))
    assert again.func is answers


def test_a_module_imported_under_a_second_name_redeclares_its_checks_in_place(tmp_path) -> None:
    """A unit test's ``import checks`` and hookkit's import of checks.py by path run the same declarations."""
    import importlib.util

    (tmp_path / "twice.py").write_text(
        "from hookkit import HookRegistry\n\nregistry = HookRegistry()\n"
        "def first(): pass\ndef second(): pass\n"
    )
    registry = HookRegistry()
    for module_name in ("twice_a", "twice_b"):
        spec = importlib.util.spec_from_file_location(module_name, tmp_path / "twice.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        registry.pre_traffic(module.first)
        registry.pre_traffic(module.second)
    assert [c.name for c in registry.checks("pre")] == ["first", "second"]
    assert registry.checks("pre")[0].func.__module__ == "twice_b"  # the newer declaration, in the older's place

    def first():  # another function of the same name, declared elsewhere: a real duplicate
        pass

    with pytest.raises(RegistrationError, match=r"'first' is already registered for BeforeAllowTraffic \(declared at "):
        registry.pre_traffic(first)


def _one(target): ...
def _two(deployment, target, api): ...
def _defaulted(target, extra=1): ...
def _keyword_only(target, *, api, flag=False): ...
def _keyword_only_required(target, *, unknown): ...
def _positional_default_then_keyword(target, retries=3, *, api=None): ...
def _unknown(target, whatever): ...
def _star_args(*args): ...
def _star_kwargs(target, **kwargs): ...
def _positional_only(target, /): ...
def _nothing(): ...


@functools.wraps(_two)
def _wraps_two(*args, **kwargs): ...


@pytest.mark.parametrize("func", [
    _one, _two, _defaulted, _keyword_only, _keyword_only_required, _positional_default_then_keyword, _unknown,
    _star_args, _star_kwargs, _positional_only, _nothing, _wraps_two, lambda target, api=None: None,
])
def test_parameters_read_from_the_code_are_what_the_signature_says(func) -> None:
    """Plain functions are read from their code (registering thousands is cheap); the answer, or the
    refusal, is the one inspect.signature gives, which everything else still goes through."""
    from hookkit.core import registry as module

    def by_signature() -> tuple[str, ...] | str:
        try:
            return module._signature_params(func, "c")
        except RegistrationError as exc:
            return str(exc)

    def as_registered() -> tuple[str, ...] | str:
        try:
            return module._requested_params(func, "c")
        except RegistrationError as exc:
            return str(exc)

    assert as_registered() == by_signature()


def test_every_object_of_a_checked_class_is_still_judged_by_what_its_call_runs() -> None:
    class Fine:
        def __call__(self, target): ...

    registry = HookRegistry()
    for n in range(3):
        registry.add_check(Fine(), "pre", name=f"fine{n}")
    Fine.__call__ = CallableGenerator.__call__  # type: ignore[method-assign]  # another method now runs
    with pytest.raises(RegistrationError, match="is a generator function"):
        registry.add_check(Fine(), "pre", name="now_a_generator")
    with pytest.raises(RegistrationError, match="is a generator function"):
        registry.add_check(CallableGenerator(), "pre", name="generator")
    assert len(registry) == 3
