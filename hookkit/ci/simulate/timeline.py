"""What happened, in order: events as they happen (printed live), samples for the picture and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from ...core.redact import redact_text
from .clock import stamp

LABELS = {
    "deployment": "deployment", "hook": "", "shift": "AllowTraffic", "alarm": "alarm", "traffic": "traffic",
    "rollback": "ROLLBACK", "success": "SUCCEEDED", "note": "",
}


@dataclass(frozen=True)
class Event:
    at: float
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "kind": self.kind, "text": self.text, **self.data}


@dataclass(frozen=True)
class Sample:
    """The period ``[at - span, at)``: weights at its end, invocations and errors per version, alarm states."""

    at: float
    span: float
    weights: dict[str, float]
    invocations: dict[str, int]
    errors: dict[str, int]
    alarms: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "span": self.span, "weights": self.weights, "invocations": self.invocations,
                "errors": self.errors, "alarms": self.alarms}


class Timeline:
    """Records events and samples; prints each event as a line when given a stream."""

    def __init__(self, out: TextIO | None = None, *, colour: bool = False) -> None:
        self.out = out
        self.colour = colour
        self.events: list[Event] = []
        self.samples: list[Sample] = []

    def add(self, at: float, kind: str, text: str, *, label: str | None = None, **data: Any) -> Event:
        text = redact_text(text)  # hooks' and functions' messages may quote what they were given
        event = Event(at, kind, text, {"label": label, **data} if label else data)
        self.events.append(event)
        if self.out is not None:
            shown = label if label is not None else LABELS.get(kind, kind)
            self.out.write(f"{stamp(at):>9}  {self._paint(kind, f'{shown:<18}')} {text}\n")
            self.out.flush()
        return event

    def sample(self, sample: Sample) -> None:
        self.samples.append(sample)

    def _paint(self, kind: str, text: str) -> str:
        if not self.colour:
            return text
        code = {"rollback": "31;1", "success": "32;1", "alarm": "33"}.get(kind)
        return f"\033[{code}m{text}\033[0m" if code else text
