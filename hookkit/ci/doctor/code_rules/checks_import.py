"""W9122: a checks module doctor cannot import cannot be checked (and may fail the hook the same way)."""

from __future__ import annotations

from collections.abc import Iterator

from hookkit.ci.doctor import base
from hookkit.ci.doctor.model import Finding
from hookkit.core import settings


class ChecksImport(base.HookkitRule):
    id = "W9122"
    shortdesc = "The hook's checks module cannot be imported"
    description = (
        f"doctor imports each hook's {settings.CHECKS} module, as the hook does, to compare its checks' timeouts with "
        "the hook's Timeout; an import that fails here usually fails in Lambda too. Fix: the error it names, or "
        "install the module's dependencies where doctor runs."
    )

    def findings(self, view: base.TemplateView) -> Iterator[Finding]:
        reader = base.hook_code(view)
        for hook in view.sam.hooks:
            declared = reader.declared(hook)
            if declared is None:
                continue  # nothing to import: E9121 / I9110 say why
            spec, probe = declared
            if probe.error is not None:
                yield Finding(
                    hook.at("Environment", "Variables", settings.CHECKS),
                    f"importing {hook.logical_id}'s checks module {spec!r} failed ({probe.error}), so doctor could "
                    "not check its checks; the hook fails the same way if the error is in its code",
                    "fix that error, or install the module's dependencies where doctor runs",
                )
