"""What every hookkit rule shares with cfn-lint: the rule class, versions, and where a finding is.

Rules subclass :class:`HookkitRule` and only say what is wrong (:meth:`HookkitRule.findings`,
over :class:`~hookkit.ci.doctor.model.SamTemplate`); this module turns each
:class:`~hookkit.ci.doctor.model.Finding` into a cfn-lint match whose message ends with the fix.

Rule modules import this module, never its classes: cfn-lint instantiates every rule class it
finds in a rules module's namespace, the base classes included.

Where a finding is: cfn-lint merges ``Globals`` into each function before rules run, and a key
that both set keeps the Globals key's line (``Timeout`` in Globals and in the function points
at Globals). So the line is looked up in the template as written: the function's own property
when it sets it, else the Globals one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import cfnlint.version  # type: ignore[import-untyped]
from cfnlint.decode import decode  # type: ignore[import-untyped]
from cfnlint.rules import CloudFormationLintRule, RuleMatch  # type: ignore[import-untyped]

from . import MINIMUM_CFN_LINT, supported_cfn_lint
from .code import CodeReader
from .model import Finding, Path, SamTemplate


def require_supported_cfn_lint() -> None:
    """Refuse to load under a cfn-lint that would make every rule pass without looking.

    cfn-lint reports an ImportError from a rules module as "Tried to append rules but got an
    error", with this message.
    """
    if not supported_cfn_lint(cfnlint.version.__version__):
        wanted = ".".join(map(str, MINIMUM_CFN_LINT))
        raise ImportError(
            f"hookkit's cfn-lint rules need cfn-lint >= {wanted} (this is {cfnlint.version.__version__}, which "
            f"shows rules SAM's transformed output, where no DeploymentPreference.Hooks remain to check); "
            f"upgrade it: pip install 'cfn-lint>={wanted},<2'"
        )


require_supported_cfn_lint()


class HookkitRule(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no type information
    """A cfn-lint rule over a template's hooks; subclasses give ``id``, texts and :meth:`findings`."""

    tags: ClassVar[list[str]] = ["hookkit", "codedeploy", "lambda"]

    def findings(self, view: TemplateView) -> Iterable[Finding]:
        raise NotImplementedError

    def match(self, cfn: Any) -> list[Any]:
        view = TemplateView.of(cfn)
        return [view.rule_match(finding) for finding in self.findings(view)]


class CannotCheck(CloudFormationLintRule):  # type: ignore[misc]
    """What doctor could not check; the other rules report these under this id."""

    id = "I9110"
    shortdesc = "A hook, policy or destination that doctor cannot check"
    description = (
        "Something a hook depends on is outside the template or computed at deploy time (a hook named by "
        "plain name, a managed policy by ARN, a SAM policy template without aws-sam-translator, a destination "
        "by ARN), so doctor could "
        "not check it. Fix: check it by hand, or name it with !Ref/!GetAtt to a resource of the template."
    )
    tags: ClassVar[list[str]] = ["hookkit"]

    def match(self, cfn: Any) -> list[Any]:
        view = TemplateView.of(cfn)
        return [
            view.rule_match(Finding(path, f"{what} {why}, so doctor cannot check it", _CHECK_BY_HAND, True))
            for path, what, why in view.sam.unchecked
        ]


_CHECK_BY_HAND = (
    "check that hook by hand, or name it with !Ref to an AWS::Serverless::Function of this template"
)
#: The instance the other rules' "cannot check" findings are reported under.
CANNOT_CHECK = CannotCheck()


class TemplateView:
    """One template as the rules read it (merged, :attr:`sam`) and as written (for lines)."""

    _views: ClassVar[weakref.WeakKeyDictionary[Any, TemplateView]] = weakref.WeakKeyDictionary()

    def __init__(self, cfn: Any) -> None:
        self.cfn = cfn
        self.filename: str | None = cfn.filename
        self.sam = SamTemplate(cfn.template)
        self._written: Mapping[str, Any] | None = None
        if self.filename:
            written, errors = decode(self.filename)
            self._written = written if isinstance(written, Mapping) and not errors else None

    @classmethod
    def of(cls, cfn: Any) -> TemplateView:
        """The view of ``cfn``, made once per template for all the rules that read it."""
        view = cls._views.get(cfn)
        if view is None:
            view = cls._views[cfn] = cls(cfn)
        return view

    def rule_match(self, finding: Finding) -> Any:
        """A cfn-lint match: the message says what is wrong and ends with ``(fix: ...)``."""
        extra: dict[str, Any] = {}
        if finding.unchecked:
            extra["rule"] = CANNOT_CHECK
        location = self._location(finding.path)
        if location is not None:
            extra["location"] = location
        return RuleMatch(list(finding.path), f"{finding.message} (fix: {finding.fix})", **extra)

    def _location(self, path: Path) -> tuple[int, int, int, int] | None:
        """Start and end (0-based) of ``path`` in the template as written; None: cfn-lint's own lookup."""
        if self._written is None:
            return None
        candidates = [path]
        if len(path) > 3 and path[0] == "Resources" and path[2] == "Properties":
            candidates.append(("Globals", "Function", *path[3:]))
        found = next((p for p in candidates if _existing_prefix(self._written, p) == p), None)
        if found is None:  # set nowhere (a default): the deepest place on the way to it
            found = _existing_prefix(self._written, path)
        location = self.cfn.get_location_yaml(self._written, list(found))
        return tuple(location) if location else None


def _existing_prefix(template: Mapping[str, Any], path: Path) -> Path:
    """The longest start of ``path`` that exists in ``template``."""
    node: Any = template
    for depth, key in enumerate(path):
        found = key in node if isinstance(node, Mapping) else (
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        )
        if not found:
            return path[:depth]
        node = node[key]
    return path


def hook_code(view: TemplateView) -> CodeReader:
    """The reader of this template's hooks' code, shared by the rules that need it."""
    return CodeReader.of(view, view.sam, view.filename)
