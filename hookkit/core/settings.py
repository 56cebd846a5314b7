"""Every ``HOOKKIT_*`` environment variable hookkit reads, each named once.

The hook is configured by its Lambda's environment only, so these names are hookkit's public
interface as much as its functions are: code reads them through these constants, the README's
tables list them, and a test checks that both agree.
"""

from __future__ import annotations

from typing import Final

#: Checks modules to import on each delivery (module names or paths, comma-separated).
CHECKS: Final = "HOOKKIT_CHECKS"
#: The lifecycle event a hook function runs for (``BeforeAllowTraffic``, ``PreTraffic``...).
PHASE: Final = "HOOKKIT_PHASE"
#: Discovery shortcut: the function and version being deployed (and optionally the others).
FUNCTION: Final = "HOOKKIT_FUNCTION"
TARGET_VERSION: Final = "HOOKKIT_TARGET_VERSION"
CURRENT_VERSION: Final = "HOOKKIT_CURRENT_VERSION"
ALIAS: Final = "HOOKKIT_ALIAS"
#: Milliseconds of the Lambda's remaining time kept back for the status report.
REPORT_RESERVE_MS: Final = "HOOKKIT_REPORT_RESERVE_MS"
#: Where the checks run: ``process`` (default: a child process the hook kills at its deadline) or ``thread``.
ISOLATION: Final = "HOOKKIT_ISOLATION"
#: Smoke calls: the API's URL (or the stack output holding it) and how to authenticate.
API_URL: Final = "HOOKKIT_API_URL"
STACK_NAME: Final = "HOOKKIT_STACK_NAME"
API_OUTPUT: Final = "HOOKKIT_API_OUTPUT"
API_KEY: Final = "HOOKKIT_API_KEY"
API_KEY_HEADER: Final = "HOOKKIT_API_KEY_HEADER"
API_TOKEN: Final = "HOOKKIT_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
API_AUTH: Final = "HOOKKIT_API_AUTH"

ALL: Final = (
    CHECKS, PHASE, FUNCTION, TARGET_VERSION, CURRENT_VERSION, ALIAS, REPORT_RESERVE_MS, ISOLATION,
    API_URL, STACK_NAME, API_OUTPUT, API_KEY, API_KEY_HEADER, API_TOKEN, API_AUTH,
)
