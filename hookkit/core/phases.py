"""CodeDeploy's lifecycle events, by the names CodeDeploy and SAM use for them."""

from __future__ import annotations

import enum

from .errors import ConfigurationError


class Phase(enum.StrEnum):
    """A CodeDeploy lifecycle event that can run a hook.

    Lambda deployments have the two traffic phases; ECS blue/green deployments add the other three.
    """

    BEFORE_ALLOW_TRAFFIC = "BeforeAllowTraffic"
    AFTER_ALLOW_TRAFFIC = "AfterAllowTraffic"
    BEFORE_INSTALL = "BeforeInstall"
    AFTER_INSTALL = "AfterInstall"
    AFTER_ALLOW_TEST_TRAFFIC = "AfterAllowTestTraffic"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Phase, *, source: str = "phase") -> Phase:
        """Accept CodeDeploy names, SAM names (PreTraffic/PostTraffic) and short CLI names."""
        if isinstance(value, Phase):
            return value
        key = str(value).strip().lower().replace("-", "").replace("_", "")
        try:
            return _ALIASES[key]
        except KeyError:
            names = ", ".join(p.value for p in cls)
            raise ConfigurationError(
                f"{source}: unknown phase {value!r}; use one of {names} "
                "(or PreTraffic / PostTraffic, pre / post)"
            ) from None


_ALIASES = {p.value.lower(): p for p in Phase} | {
    "pretraffic": Phase.BEFORE_ALLOW_TRAFFIC,
    "pre": Phase.BEFORE_ALLOW_TRAFFIC,
    "posttraffic": Phase.AFTER_ALLOW_TRAFFIC,
    "post": Phase.AFTER_ALLOW_TRAFFIC,
}
